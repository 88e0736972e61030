"""How long X counts a post: twitter-text's weighted length (config v3), the count X refuses a post by.

X does not count characters. Each code point weighs 1 or 2 (on a scale of 100: 100 or 200). Latin, Greek,
Cyrillic, Hebrew, Arabic, the Indic scripts and most punctuation (U+0000-U+10FF and a few General Punctuation
ranges) weigh 1; everything else, CJK and emoji among it, weighs 2. Every link weighs 23 (its t.co length)
however long it is, and a bare domain such as example.com is a link too. An emoji weighs 2 however many code
points make it (skin tones, ZWJ families, flags, keycaps). The text is NFC-normalised first. A post may weigh
280 at most.

A port of twitter-text 3.1.0 (https://github.com/twitter/twitter-text at commit 30e2430d90cf; Apache License
2.0, Copyright 2018 Twitter, Inc.): `TwitterTextParser.parseTweet`, `Extractor.extractURLsWithIndices` and the
expressions of `Regex` and `TwitterTextEmojiRegex` of its Java library (X's servers are built on it; the
JavaScript and Ruby libraries pass the same conformance suite), with the weights of `config/v3.json`. The TLD
lists are `conformance/tld_lib.yml`; the emoji expression is `rb/lib/twitter-text/emoji_regex.rb`, the Java
one (Unicode emoji 12.1) written with code points. tests/connectors/test_x_length.py runs twitter-text's own
conformance vectors through `parse` and `link_spans`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

URL_LENGTH_LIMIT = 4096  # Extractor.MAX_URL_LENGTH: a longer "link" is not one, its characters count
TCO_SLUG_LIMIT = 40  # Extractor.MAX_TCO_SLUG_LENGTH
_PROTOCOL_LENGTH = len("https://")  # what a bare domain is taken to have, for URL_LENGTH_LIMIT


@dataclass(frozen=True)
class WeightedRange:
    """Code points `start`..`end` (inclusive) weigh `weight` (on the config's scale)."""

    start: int
    end: int
    weight: int


@dataclass(frozen=True)
class Config:
    """One of twitter-text's configurations (config/v*.json); the defaults are v3, what X counts by today."""

    max_weighted_length: int = 280  # maxWeightedTweetLength
    scale: int = 100
    default_weight: int = 200  # defaultWeight: a code point in none of the ranges
    transformed_url_length: int = 23  # transformedURLLength: a link, once wrapped in t.co
    emoji_parsing: bool = True  # emojiParsingEnabled: a whole emoji sequence weighs defaultWeight
    ranges: tuple[WeightedRange, ...] = (
        WeightedRange(0x0000, 0x10FF, 100),  # Latin to Georgian, with Greek, Cyrillic, Hebrew, Arabic, Indic
        WeightedRange(0x2000, 0x200D, 100),  # General Punctuation's spaces and zero-width characters
        WeightedRange(0x2010, 0x201F, 100),  # dashes and quotation marks
        WeightedRange(0x2032, 0x2037, 100),  # primes
    )


V3 = Config()


@dataclass(frozen=True)
class ParseResult:
    """twitter-text's TwitterTextParseResults. The ranges are inclusive and in UTF-16 code units, as X's are:
    `valid_range` is the part of the text that fits, `display_range` all of it."""

    weighted_length: int
    valid: bool
    permillage: int  # weighted_length in thousandths of the maximum
    display_range: tuple[int, int]
    valid_range: tuple[int, int]


_EMPTY = ParseResult(0, False, 0, (-1, -1), (-1, -1))


def weighted_length(text: str, config: Config = V3) -> int:
    """The length X counts `text` as (a post may have 280)."""
    return parse(text, config).weighted_length


def parse(text: str, config: Config = V3) -> ParseResult:
    """Weigh `text` as twitter-text's `TwitterTextParser.parseTweet` does."""
    if not text.strip(_JAVA_TRIM):
        return _EMPTY
    normalized = unicodedata.normalize("NFC", text)
    links = dict(link_spans(normalized))
    emoji = {m.start(): m.end() for m in _patterns().emoji.finditer(normalized)} if config.emoji_parsing else {}
    limit = config.max_weighted_length * config.scale
    weight, offset, units, valid_units, invalid = 0, 0, 0, 0, False
    while offset < len(normalized):
        if offset in links:
            end, weight = links[offset], weight + config.transformed_url_length * config.scale
        elif offset in emoji:
            end, weight = emoji[offset], weight + config.default_weight
        else:
            end, weight = offset + 1, weight + _weight(ord(normalized[offset]), config)
            invalid = invalid or normalized[offset] in INVALID_CHARACTERS
        step = _utf16_length(normalized[offset:end])
        units += step
        if not invalid and weight <= limit:
            valid_units += step
        offset = end
    shift = _utf16_length(text) - units  # the ranges index the text as given, not as normalised
    length = weight // config.scale
    return ParseResult(
        weighted_length=length,
        valid=not invalid and length <= config.max_weighted_length,
        permillage=length * 1000 // config.max_weighted_length,
        display_range=(0, units + shift - 1),
        valid_range=(0, valid_units + shift - 1),
    )


def link_spans(text: str) -> list[tuple[int, int]]:
    """Where the links are, as (start, end) code point offsets: `Extractor.extractURLsWithIndices`."""
    patterns, spans = _patterns(), []
    if not any(patterns.tld.match(text, i + 1) for i, ch in enumerate(text) if ch == "."):
        return []  # every link has a TLD right after a dot: none here (and no long search through "a.b.c.…")
    for match in patterns.url.finditer(text):
        protocol, url, start, end = match["protocol"], match["url"], match.start("url"), match.end("url")
        if not protocol and match["before"] in _INVALID_BEFORE_BARE_DOMAIN:
            continue  # e.g. "_example.com" or "/example.com"
        tco = patterns.tco.match(url)
        if tco:  # a t.co link ends with its slug (and query): no path after it
            if len(tco[1]) > TCO_SLUG_LIMIT:
                continue
            url, end = tco[0], start + len(tco[0])
        if _valid_host_and_length(_utf16_length(url), protocol, match["domain"]):
            spans.append((start, end))
    return spans


def _valid_host_and_length(url_length: int, protocol: str | None, host: str) -> bool:
    """`Extractor.isValidHostAndLength`: the host must survive IDNA (each label 1 to 63 long in punycode), and
    the link, with its host in punycode and a protocol, must be at most URL_LENGTH_LIMIT long."""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    if not ascii_host:
        return False
    length = url_length + len(ascii_host) - _utf16_length(host) + (0 if protocol else _PROTOCOL_LENGTH)
    return length <= URL_LENGTH_LIMIT


def _weight(code_point: int, config: Config) -> int:
    for weighted in config.ranges:
        if weighted.start <= code_point <= weighted.end:
            return weighted.weight
    return config.default_weight


def _utf16_length(text: str) -> int:
    """Java's String.length(): what X's offsets count."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# -- the expressions of Regex.java ------------------------------------------------------------------------------
_FLAGS = re.IGNORECASE | re.ASCII  # Java's CASE_INSENSITIVE folds ASCII letters only
_JAVA_TRIM = "".join(map(chr, range(0x21)))  # String.trim() strips code points up to U+0020
INVALID_CHARACTERS = "\ufffe\ufeff\uffff"  # X refuses a post with any of them
_INVALID_BEFORE_BARE_DOMAIN = ("-", "_", ".", "/")  # Regex.INVALID_URL_WITHOUT_PROTOCOL_MATCH_BEGIN
_INVALID = r"\ufffe\ufeff\uffff"
_DIRECTIONAL = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_LATIN_ACCENTS = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268\u026f"
    r"\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = r"\u0400-\u04ff"
_PUNCTUATION = r"_!\"#$%&'()*+,./:;<=>?@\[\]\^`{|}~"  # and "-", which each class places itself
# Java's \p{Z} (Zs, Zl and Zp) and \p{InGeneralPunctuation} (U+2000-U+206F)
_SEPARATORS = r"\u0020\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\u2000-\u206f"

_PRECEDING = rf"(?:[^a-z0-9@\uff20$#\uff03{_INVALID}]|[{_DIRECTIONAL}]|^)"
_CHAR = rf"[a-z0-9{_LATIN_ACCENTS}]"
_SUBDOMAIN = rf"(?>(?:{_CHAR}[a-z0-9{_LATIN_ACCENTS}\-_]*)?{_CHAR}\.)"
_DOMAIN_NAME = rf"(?:(?:{_CHAR}[a-z0-9{_LATIN_ACCENTS}\-]*)?{_CHAR}\.)"
_UNICODE_CHAR = rf"[^\-{_PUNCTUATION}\s{_SEPARATORS}]"
_UNICODE_DOMAIN_NAME = rf"(?:(?:{_UNICODE_CHAR}[^{_PUNCTUATION}\s{_SEPARATORS}]*)?{_UNICODE_CHAR}\.)"
_PUNYCODE = r"(?:xn--[\-0-9a-z]+)"
_TLD_END = r"[^a-z0-9@+\-]"  # what may follow a TLD
_PATH_CHAR = rf"[a-z0-9!*';:=+,.$/%#\[\]\-\u2013_~|&@{_LATIN_ACCENTS}{_CYRILLIC}]"
_PARENS = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"  # Wikipedia's /Primer_(film)
_PATH_END = rf"[a-z0-9=_#/\-+{_LATIN_ACCENTS}{_CYRILLIC}]|(?:{_PARENS})"  # "/foo." leaves the period out
_PATH = rf"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY = r"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@]"
_QUERY_END = r"[a-z0-9\-_&=#/]"


@dataclass(frozen=True)
class _Patterns:
    url: re.Pattern[str]
    tld: re.Pattern[str]
    tco: re.Pattern[str]
    emoji: re.Pattern[str]


@functools.cache
def _patterns() -> _Patterns:
    """Compiled on first use (a tenth of a second), not on import."""
    gtld, cctld = _tlds(GENERIC_TLDS), _tlds(COUNTRY_TLDS)
    domain = (
        rf"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}(?:{gtld}|{cctld}|{_PUNYCODE}))"  # example.com, www.example.co.uk
        r"|(?:(?:(?<=http://)|(?<=https://))"  # after a protocol, a unicode domain too: https://日本語.jp
        rf"(?:(?:{_DOMAIN_NAME}{cctld})|(?:{_UNICODE_DOMAIN_NAME}(?:{gtld}|{cctld}))))"
        rf"|(?:{_DOMAIN_NAME}{cctld}(?=/))"  # t.co/
    )
    url = (
        rf"(?P<before>{_PRECEDING})(?P<url>(?P<protocol>https?://)?(?P<domain>{domain})"
        rf"(?::[0-9]++)?(?:/{_PATH}*+)?(?:\?{_QUERY}*{_QUERY_END})?)"
    )
    return _Patterns(
        url=re.compile(url, _FLAGS),
        tld=re.compile(rf"{gtld}|{cctld}|{_PUNYCODE}", _FLAGS),
        tco=re.compile(rf"https?://t\.co/([a-z0-9]+)(?:\?{_QUERY}*{_QUERY_END})?", _FLAGS),
        emoji=re.compile(_EMOJI),
    )


def _tlds(names: tuple[str, ...]) -> str:
    """Java's `(?:(?:name|name|...)(?=[^a-z0-9@+-]|$))` with the names in a trie: Python's re tries the 1,259
    names of a flat alternation one by one, so text such as "a.a.a.…" took seconds. The trie picks the name the
    flat alternation would (the first in the list that fits), which `_trie` checks it can."""
    return rf"(?:{_trie([(name, index) for index, name in enumerate(names)])}(?={_TLD_END}|$))"


def _trie(items: list[tuple[str, int]]) -> str:
    """An alternation of `items` (what is left of a name, its place in the list), shared prefixes once.

    Names in different branches cannot both fit, as they differ in a character; a name that ends at a branch
    point can fit as well as a longer one only if that one goes on with a character that may end a TLD (never
    an ASCII letter). Then the branches must be in list order, which the sort gives unless the longer names
    sit on both sides of the shorter one in the list: that is refused.
    """
    ends = [index for rest, index in items if not rest]
    groups: dict[str, list[tuple[str, int]]] = {}
    for rest, index in items:
        if rest:
            groups.setdefault(rest[0], []).append((rest[1:], index))
    branches = [(min(i for _, i in group), re.escape(char) + _trie(group)) for char, group in groups.items()]
    if ends:
        for char, group in groups.items():
            if re.match(_TLD_END, char, _FLAGS) and min(i for _, i in group) < ends[0] < max(i for _, i in group):
                raise ValueError(f"the TLDs after {char!r} cannot be tried in the list's order as a trie")
        branches.append((ends[0], ""))
    branches.sort()
    return branches[0][1] if len(branches) == 1 else "(?:" + "|".join(branch for _, branch in branches) + ")"


# -- data ------------------------------------------------------------------------------------------------------
# conformance/tld_lib.yml, in its order (the order Java tries them in)
_GENERIC = """
    삼성 닷컴 닷넷 香格里拉 餐厅 食品 飞利浦 電訊盈科 集团 通販 购物 谷歌 诺基亚 联通 网络 网站 网店 网址
    组织机构 移动 珠宝 点看 游戏 淡马锡 机构 書籍 时尚 新闻 政府 政务 招聘 手表 手机 我爱你 慈善 微博 广东
    工行 家電 娱乐 天主教 大拿 大众汽车 在线 嘉里大酒店 嘉里 商标 商店 商城 公益 公司 八卦 健康 信息 佛山
    企业 中文网 中信 世界 ポイント ファッション セール ストア コム グーグル クラウド みんな คอม संगठन नेट
    कॉम همراه موقع موبايلي كوم كاثوليك عرب شبكة بيتك بازار العليان ارامكو اتصالات ابوظبي קום сайт рус орг
    онлайн москва ком католик дети zuerich zone zippo zip zero zara zappos yun youtube you yokohama yoga
    yodobashi yandex yamaxun yahoo yachts xyz xxx xperia xin xihuan xfinity xerox xbox wtf wtc wow world
    works work woodside wolterskluwer wme winners wine windows win williamhill wiki wien whoswho weir weibo
    wedding wed website weber webcam weatherchannel weather watches watch warman wanggou wang walter walmart
    wales vuelos voyage voto voting vote volvo volkswagen vodka vlaanderen vivo viva vistaprint vista vision
    visa virgin vip vin villas viking vig video viajes vet versicherung vermögensberatung vermögensberater
    verisign ventures vegas vanguard vana vacations ups uol uno university unicom uconnect ubs ubank tvs
    tushu tunes tui tube trv trust travelersinsurance travelers travelchannel travel training trading trade
    toys toyota town tours total toshiba toray top tools tokyo today tmall tkmaxx tjx tjmaxx tirol tires
    tips tiffany tienda tickets tiaa theatre theater thd teva tennis temasek telefonica telecity tel
    technology tech team tdk tci taxi tax tattoo tatar tatamotors target taobao talk taipei tab systems
    symantec sydney swiss swiftcover swatch suzuki surgery surf support supply supplies sucks style study
    studio stream store storage stockholm stcgroup stc statoil statefarm statebank starhub star staples
    stada srt srl spreadbetting spot sport spiegel space soy sony song solutions solar sohu software
    softbank social soccer sncf smile smart sling skype sky skin ski site singles sina silk shriram showtime
    show shouji shopping shop shoes shiksha shia shell shaw sharp shangrila sfr sexy sex sew seven ses
    services sener select seek security secure seat search scot scor scjohnson science schwarz schule school
    scholarships schmidt schaeffler scb sca sbs sbi saxo save sas sarl sapo sap sanofi sandvikcoromant
    sandvik samsung samsclub salon sale sakura safety safe saarland ryukyu rwe run ruhr rugby rsvp room
    rogers rodeo rocks rocher rmit rip rio ril rightathome ricoh richardli rich rexroth reviews review
    restaurant rest republican report repair rentals rent ren reliance reit reisen reise rehab redumbrella
    redstone red recipes realty realtor realestate read raid radio racing qvc quest quebec qpon pwc pub
    prudential pru protection property properties promo progressive prof productions prod pro prime press
    praxi pramerica post porn politie poker pohl pnc plus plumbing playstation play place pizza pioneer pink
    ping pin pid pictures pictet pics piaget physio photos photography photo phone philips phd pharmacy
    pfizer pet pccw pay passagens party parts partners pars paris panerai panasonic pamperedchef page ovh
    ott otsuka osaka origins orientexpress organic org orange oracle open ooo onyourside online onl ong one
    omega ollo oldnavy olayangroup olayan okinawa office off observer obi nyc ntt nrw nra nowtv nowruz now
    norton northwesternmutual nokia nissay nissan ninja nikon nike nico nhk ngo nfl nexus nextdirect next
    news newholland new neustar network netflix netbank net nec nba navy natura nationwide name nagoya nadex
    nab mutuelle mutual museum mtr mtpc mtn msd movistar movie mov motorcycles moto moscow mortgage mormon
    mopar montblanc monster money monash mom moi moe moda mobily mobile mobi mma mls mlb mitsubishi mit mint
    mini mil microsoft miami metlife merckmsd meo menu men memorial meme melbourne meet media med mckinsey
    mcdonalds mcd mba mattel maserati marshalls marriott markets marketing market map mango management man
    makeup maison maif madrid macys luxury luxe lupin lundbeck ltda ltd lplfinancial lpl love lotto lotte
    london lol loft locus locker loans loan llp llc lixil living live lipsy link linde lincoln limo limited
    lilly like lighting lifestyle lifeinsurance life lidl liaison lgbt lexus lego legal lefrak leclerc lease
    lds lawyer law latrobe latino lat lasalle lanxess landrover land lancome lancia lancaster lamer
    lamborghini ladbrokes lacaixa kyoto kuokgroup kred krd kpn kpmg kosher komatsu koeln kiwi kitchen kindle
    kinder kim kia kfh kerryproperties kerrylogistics kerryhotels kddi kaufen juniper juegos jprs jpmorgan
    joy jot joburg jobs jnj jmp jll jlc jio jewelry jetzt jeep jcp jcb java jaguar iwc iveco itv itau
    istanbul ist ismaili iselect irish ipiranga investments intuit international intel int insure insurance
    institute ink ing info infiniti industries inc immobilien immo imdb imamat ikano iinet ifm ieee icu ice
    icbc ibm hyundai hyatt hughes htc hsbc how house hotmail hotels hoteles hot hosting host hospital horse
    honeywell honda homesense homes homegoods homedepot holiday holdings hockey hkt hiv hitachi hisamitsu
    hiphop hgtv hermes here helsinki help healthcare health hdfcbank hdfc hbo haus hangout hamburg hair guru
    guitars guide guge gucci guardian group grocery gripe green gratis graphics grainger gov got gop google
    goog goodyear goodhands goo golf goldpoint gold godaddy gmx gmo gmbh gmail globo global gle glass glade
    giving gives gifts gift ggee george genting gent gea gdn gbiz gay garden gap games game gallup gallo
    gallery gal fyi futbol furniture fund fun fujixerox fujitsu ftr frontier frontdoor frogans frl fresenius
    free fox foundation forum forsale forex ford football foodnetwork food foo fly flsmidth flowers florist
    flir flights flickr fitness fit fishing fish firmdale firestone fire financial finance final film fido
    fidelity fiat ferrero ferrari feedback fedex fast fashion farmers farm fans fan family faith fairwinds
    fail fage extraspace express exposed expert exchange everbank events eus eurovision etisalat esurance
    estate esq erni ericsson equipment epson epost enterprises engineering engineer energy emerck email
    education edu edeka eco eat earth dvr dvag durban dupont duns dunlop duck dubai dtv drive download dot
    doosan domains doha dog dodge doctor docs dnp diy dish discover discount directory direct digital diet
    diamonds dhl dev design desi dentist dental democrat delta deloitte dell delivery degree deals dealer
    deal dds dclk day datsun dating date data dance dad dabur cyou cymru cuisinella csc cruises cruise crs
    crown cricket creditunion creditcard credit cpa courses coupons coupon country corsica coop cool
    cookingchannel cooking contractors contact consulting construction condos comsec computer compare
    company community commbank comcast com cologne college coffee codes coach clubmed club cloud clothing
    clinique clinic click cleaning claims cityeats city citic citi citadel cisco circle cipriani church
    chrysler chrome christmas chloe chintai cheap chat chase charity channel chanel cfd cfa cern ceo center
    ceb cbs cbre cbn cba catholic catering cat casino cash caseih case casa cartier cars careers career care
    cards caravan car capitalone capital capetown canon cancerresearch camp camera cam calvinklein call cal
    cafe cab bzh buzz buy business builders build bugatti budapest brussels brother broker broadway
    bridgestone bradesco box boutique bot boston bostik bosch boots booking book boo bond bom bofa
    boehringer boats bnpparibas bnl bmw bms blue bloomberg blog blockbuster blanco blackfriday black biz bio
    bingo bing bike bid bible bharti bet bestbuy best berlin bentley beer beauty beats bcn bcg bbva bbt bbc
    bayern bauhaus basketball baseball bargains barefoot barclays barclaycard barcelona bar bank band
    bananarepublic banamex baidu baby azure axa aws avianca autos auto author auspost audio audible audi
    auction attorney athleta associates asia asda arte art arpa army archi aramco arab aquarelle apple app
    apartments aol anz anquan android analytics amsterdam amica amfam amex americanfamily americanexpress
    alstom alsace ally allstate allfinanz alipay alibaba alfaromeo akdn airtel airforce airbus aigo aig
    agency agakhan africa afl afamilycompany aetna aero aeg adult ads adac actor active aco accountants
    accountant accenture academy abudhabi abogado able abc abbvie abbott abb abarth aarp aaa onion
"""
_COUNTRY = """
    한국 香港 澳門 新加坡 台灣 台湾 中國 中国 გე ລາວ ไทย ලංකා ഭാരതം ಭಾರತ భారత్ சிங்கப்பூர் இலங்கை இந்தியா
    ଭାରତ ભારત ਭਾਰਤ ভাৰত ভারত বাংলা भारोत भारतम् भारत ڀارت پاکستان موريتانيا مليسيا مصر قطر فلسطين عمان عراق
    سورية سودان تونس بھارت بارت ایران امارات المغرب السعودية الجزائر البحرين الاردن հայ қаз укр срб рф мон
    мкд ею бел бг ευ ελ zw zm za yt ye ws wf vu vn vi vg ve vc va uz uy us um uk ug ua tz tw tv tt tr tp to
    tn tm tl tk tj th tg tf td tc sz sy sx sv su st ss sr so sn sm sl sk sj si sh sg se sd sc sb sa rw ru rs
    ro re qa py pw pt ps pr pn pm pl pk ph pg pf pe pa om nz nu nr np no nl ni ng nf ne nc na mz my mx mw mv
    mu mt ms mr mq mp mo mn mm ml mk mh mg mf me md mc ma ly lv lu lt ls lr lk li lc lb la kz ky kw kr kp kn
    km ki kh kg ke jp jo jm je it is ir iq io in im il ie id hu ht hr hn hm hk gy gw gu gt gs gr gq gp gn gm
    gl gi gh gg gf ge gd gb ga fr fo fm fk fj fi eu et es er eh eg ee ec dz do dm dk dj de cz cy cx cw cv cu
    cr co cn cm cl ck ci ch cg cf cd cc ca bz by bw bv bt bs br bq bo bn bm bl bj bi bh bg bf be bd bb ba az
    ax aw au at as ar aq ao an am al ai ag af ae ad ac
"""
GENERIC_TLDS, COUNTRY_TLDS = tuple(_GENERIC.split()), tuple(_COUNTRY.split())

# TwitterTextEmojiRegex: one emoji, the longest sequences first; a stray U+FE0F (VS16) counts as one too.
_EMOJI = (
    r"(?:👨\U0001f3fb\u200d🤝\u200d👨[\U0001f3fc-\U0001f3ff]|👨\U0001f3fc\u200d🤝\u200d👨[\U0001f3fb"
    r"\U0001f3fd-\U0001f3ff]|👨\U0001f3fd\u200d🤝\u200d👨[\U0001f3fb\U0001f3fc\U0001f3fe\U0001f3ff]|👨"
    r"\U0001f3fe\u200d🤝\u200d👨[\U0001f3fb-\U0001f3fd\U0001f3ff]|👨\U0001f3ff\u200d🤝\u200d👨[\U0001f3fb-"
    r"\U0001f3fe]|👩\U0001f3fb\u200d🤝\u200d👨[\U0001f3fc-\U0001f3ff]|👩\U0001f3fb\u200d🤝\u200d👩["
    r"\U0001f3fc-\U0001f3ff]|👩\U0001f3fc\u200d🤝\u200d👨[\U0001f3fb\U0001f3fd-\U0001f3ff]|👩\U0001f3fc"
    r"\u200d🤝\u200d👩[\U0001f3fb\U0001f3fd-\U0001f3ff]|👩\U0001f3fd\u200d🤝\u200d👨[\U0001f3fb\U0001f3fc"
    r"\U0001f3fe\U0001f3ff]|👩\U0001f3fd\u200d🤝\u200d👩[\U0001f3fb\U0001f3fc\U0001f3fe\U0001f3ff]|👩"
    r"\U0001f3fe\u200d🤝\u200d👨[\U0001f3fb-\U0001f3fd\U0001f3ff]|👩\U0001f3fe\u200d🤝\u200d👩[\U0001f3fb-"
    r"\U0001f3fd\U0001f3ff]|👩\U0001f3ff\u200d🤝\u200d👨[\U0001f3fb-\U0001f3fe]|👩\U0001f3ff\u200d🤝\u200d"
    r"👩[\U0001f3fb-\U0001f3fe]|🧑\U0001f3fb\u200d🤝\u200d🧑[\U0001f3fb-\U0001f3ff]|🧑\U0001f3fc\u200d🤝"
    r"\u200d🧑[\U0001f3fb-\U0001f3ff]|🧑\U0001f3fd\u200d🤝\u200d🧑[\U0001f3fb-\U0001f3ff]|🧑\U0001f3fe"
    r"\u200d🤝\u200d🧑[\U0001f3fb-\U0001f3ff]|🧑\U0001f3ff\u200d🤝\u200d🧑[\U0001f3fb-\U0001f3ff]|🧑\u200d"
    r"🤝\u200d🧑|👫[\U0001f3fb-\U0001f3ff]|👬[\U0001f3fb-\U0001f3ff]|👭[\U0001f3fb-\U0001f3ff]|[👫-👭])|["
    r"👨👩🧑][\U0001f3fb-\U0001f3ff]?\u200d(?:\u2695\ufe0f|\u2696\ufe0f|\u2708\ufe0f|[🌾🍳🎓🎤🎨🏫🏭💻💼🔧"
    r"🔬🚀🚒🦯-🦳🦼🦽])|[\u26f9\U0001f3cb\U0001f3cc\U0001f574\U0001f575](?:[\ufe0f\U0001f3fb-\U0001f3ff]"
    r"\u200d[\u2640\u2642]\ufe0f)|[🏃🏄🏊👮👱👳👷💁💂💆💇🙅-🙇🙋🙍🙎🚣🚴-🚶🤦🤵🤷-🤹🤽🤾🦸🦹🧍-🧏🧖-🧝]["
    r"\U0001f3fb-\U0001f3ff]?\u200d[\u2640\u2642]\ufe0f|(?:👨\u200d\u2764\ufe0f\u200d💋\u200d👨|👩\u200d"
    r"\u2764\ufe0f\u200d💋\u200d[👨👩]|👨\u200d👨\u200d👦\u200d👦|👨\u200d👨\u200d👧\u200d[👦👧]|👨\u200d"
    r"👩\u200d👦\u200d👦|👨\u200d👩\u200d👧\u200d[👦👧]|👩\u200d👩\u200d👦\u200d👦|👩\u200d👩\u200d👧"
    r"\u200d[👦👧]|👨\u200d\u2764\ufe0f\u200d👨|👩\u200d\u2764\ufe0f\u200d[👨👩]|\U0001f3f3\ufe0f\u200d"
    r"\u26a7\ufe0f|👨\u200d👦\u200d👦|👨\u200d👧\u200d[👦👧]|👨\u200d👨\u200d[👦👧]|👨\u200d👩\u200d[👦👧]"
    r"|👩\u200d👦\u200d👦|👩\u200d👧\u200d[👦👧]|👩\u200d👩\u200d[👦👧]|\U0001f3f3\ufe0f\u200d🌈|🏴\u200d"
    r"\u2620\ufe0f|👯\u200d\u2640\ufe0f|👯\u200d\u2642\ufe0f|🤼\u200d\u2640\ufe0f|🤼\u200d\u2642\ufe0f|🧞"
    r"\u200d\u2640\ufe0f|🧞\u200d\u2642\ufe0f|🧟\u200d\u2640\ufe0f|🧟\u200d\u2642\ufe0f|🐕\u200d🦺|"
    r"\U0001f441\u200d\U0001f5e8|👨\u200d[👦👧]|👩\u200d[👦👧])|[#*0-9]\ufe0f?\u20e3|(?:[\u00a9\u00ae"
    r"\u2122\u265f]\ufe0f)|[\u203c\u2049\u2139\u2194-\u2199\u21a9\u21aa⌚⌛\u2328\u23cf\u23ed-\u23ef\u23f1"
    r"\u23f2\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-◾\u2600-\u2604\u260e\u2611☔☕\u2618\u2620"
    r"\u2622\u2623\u2626\u262a\u262e\u262f\u2638-\u263a\u2640\u2642♈-♓\u2660\u2663\u2665\u2666\u2668"
    r"\u267b♿\u2692-\u2697\u2699\u269b\u269c\u26a0⚡\u26a7⚪⚫\u26b0\u26b1⚽⚾⛄⛅\u26c8\u26cf\u26d1"
    r"\u26d3⛔\u26e9⛪\u26f0-⛵\u26f8⛺⛽\u2702\u2708\u2709\u270f\u2712\u2714\u2716\u271d\u2721\u2733"
    r"\u2734\u2744\u2747❗\u2763\u2764\u27a1\u2934\u2935\u2b05-\u2b07⬛⬜⭐⭕〰〽㊗㊙🀄\U0001f170"
    r"\U0001f171\U0001f17e\U0001f17f🈂🈚🈯🈷\U0001f321\U0001f324-\U0001f32c\U0001f336\U0001f37d\U0001f396"
    r"\U0001f397\U0001f399-\U0001f39b\U0001f39e\U0001f39f\U0001f3cd\U0001f3ce\U0001f3d4-\U0001f3df"
    r"\U0001f3f3\U0001f3f5\U0001f3f7\U0001f43f\U0001f441\U0001f4fd\U0001f549\U0001f54a\U0001f56f\U0001f570"
    r"\U0001f573\U0001f576-\U0001f579\U0001f587\U0001f58a-\U0001f58d\U0001f5a5\U0001f5a8\U0001f5b1"
    r"\U0001f5b2\U0001f5bc\U0001f5c2-\U0001f5c4\U0001f5d1-\U0001f5d3\U0001f5dc-\U0001f5de\U0001f5e1"
    r"\U0001f5e3\U0001f5e8\U0001f5ef\U0001f5f3\U0001f5fa\U0001f6cb\U0001f6cd-\U0001f6cf\U0001f6e0-"
    r"\U0001f6e5\U0001f6e9\U0001f6f0\U0001f6f3](?:\ufe0f|(?!\ufe0e))|(?:[\u261d\u26f7\u26f9\u270c\u270d"
    r"\U0001f3cb\U0001f3cc\U0001f574\U0001f575\U0001f590](?:\ufe0f|(?!\ufe0e))|[✊✋🎅🏂-🏄🏇🏊👂👃👆-👐👦"
    r"-👩👮👰-👸👼💁-💃💅-💇💪🕺🖕🖖🙅-🙇🙋-🙏🚣🚴-🚶🛀🛌🤏🤘-🤜🤞🤟🤦🤰-🤹🤽🤾🦵🦶🦸🦹🦻🧍-🧏🧑-🧝])["
    r"\U0001f3fb-\U0001f3ff]?|(?:🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f|🏴"
    r"\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f|🏴\U000e0067\U000e0062\U000e0077"
    r"\U000e006c\U000e0073\U000e007f|\U0001f1e6[\U0001f1e8-\U0001f1ec\U0001f1ee\U0001f1f1\U0001f1f2"
    r"\U0001f1f4\U0001f1f6-\U0001f1fa\U0001f1fc\U0001f1fd\U0001f1ff]|\U0001f1e7[\U0001f1e6\U0001f1e7"
    r"\U0001f1e9-\U0001f1ef\U0001f1f1-\U0001f1f4\U0001f1f6-\U0001f1f9\U0001f1fb\U0001f1fc\U0001f1fe"
    r"\U0001f1ff]|\U0001f1e8[\U0001f1e6\U0001f1e8\U0001f1e9\U0001f1eb-\U0001f1ee\U0001f1f0-\U0001f1f5"
    r"\U0001f1f7\U0001f1fa-\U0001f1ff]|\U0001f1e9[\U0001f1ea\U0001f1ec\U0001f1ef\U0001f1f0\U0001f1f2"
    r"\U0001f1f4\U0001f1ff]|\U0001f1ea[\U0001f1e6\U0001f1e8\U0001f1ea\U0001f1ec\U0001f1ed\U0001f1f7-"
    r"\U0001f1fa]|\U0001f1eb[\U0001f1ee-\U0001f1f0\U0001f1f2\U0001f1f4\U0001f1f7]|\U0001f1ec[\U0001f1e6"
    r"\U0001f1e7\U0001f1e9-\U0001f1ee\U0001f1f1-\U0001f1f3\U0001f1f5-\U0001f1fa\U0001f1fc\U0001f1fe]|"
    r"\U0001f1ed[\U0001f1f0\U0001f1f2\U0001f1f3\U0001f1f7\U0001f1f9\U0001f1fa]|\U0001f1ee[\U0001f1e8-"
    r"\U0001f1ea\U0001f1f1-\U0001f1f4\U0001f1f6-\U0001f1f9]|\U0001f1ef[\U0001f1ea\U0001f1f2\U0001f1f4"
    r"\U0001f1f5]|\U0001f1f0[\U0001f1ea\U0001f1ec-\U0001f1ee\U0001f1f2\U0001f1f3\U0001f1f5\U0001f1f7"
    r"\U0001f1fc\U0001f1fe\U0001f1ff]|\U0001f1f1[\U0001f1e6-\U0001f1e8\U0001f1ee\U0001f1f0\U0001f1f7-"
    r"\U0001f1fb\U0001f1fe]|\U0001f1f2[\U0001f1e6\U0001f1e8-\U0001f1ed\U0001f1f0-\U0001f1ff]|\U0001f1f3["
    r"\U0001f1e6\U0001f1e8\U0001f1ea-\U0001f1ec\U0001f1ee\U0001f1f1\U0001f1f4\U0001f1f5\U0001f1f7"
    r"\U0001f1fa\U0001f1ff]|\U0001f1f4\U0001f1f2|\U0001f1f5[\U0001f1e6\U0001f1ea-\U0001f1ed\U0001f1f0-"
    r"\U0001f1f3\U0001f1f7-\U0001f1f9\U0001f1fc\U0001f1fe]|\U0001f1f6\U0001f1e6|\U0001f1f7[\U0001f1ea"
    r"\U0001f1f4\U0001f1f8\U0001f1fa\U0001f1fc]|\U0001f1f8[\U0001f1e6-\U0001f1ea\U0001f1ec-\U0001f1f4"
    r"\U0001f1f7-\U0001f1f9\U0001f1fb\U0001f1fd-\U0001f1ff]|\U0001f1f9[\U0001f1e6\U0001f1e8\U0001f1e9"
    r"\U0001f1eb-\U0001f1ed\U0001f1ef-\U0001f1f4\U0001f1f7\U0001f1f9\U0001f1fb\U0001f1fc\U0001f1ff]|"
    r"\U0001f1fa[\U0001f1e6\U0001f1ec\U0001f1f2\U0001f1f3\U0001f1f8\U0001f1fe\U0001f1ff]|\U0001f1fb["
    r"\U0001f1e6\U0001f1e8\U0001f1ea\U0001f1ec\U0001f1ee\U0001f1f3\U0001f1fa]|\U0001f1fc[\U0001f1eb"
    r"\U0001f1f8]|\U0001f1fd\U0001f1f0|\U0001f1fe[\U0001f1ea\U0001f1f9]|\U0001f1ff[\U0001f1e6\U0001f1f2"
    r"\U0001f1fc]|[⏩-⏬⏰⏳\u267e⛎✅✨❌❎❓-❕➕-➗➰➿\ue50a🃏🆎🆑-🆚\U0001f1e6-\U0001f1ff🈁🈲-🈶🈸-🈺"
    r"🉐🉑🌀-🌠🌭-🌵🌷-🍼🍾-🎄🎆-🎓🎠-🏁🏅🏆🏈🏉🏏-🏓🏠-🏰🏴🏸-🐾👀👄👅👑-👥👪👯👹-👻👽-💀💄💈-💩💫-📼📿-"
    r"🔽🕋-🕎🕐-🕧🖤🗻-🙄🙈-🙊🚀-🚢🚤-🚳🚷-🚿🛁-🛅🛐-🛒🛕🛫🛬🛴-🛺🟠-🟫🤍🤎🤐-🤗🤝🤠-🤥🤧-🤯🤺🤼🤿-🥅🥇-🥱"
    r"🥳-🥶🥺-🦢🦥-🦪🦮-🦴🦷🦺🦼-🧊🧐🧞-🧿🩰-🩳🩸-🩺🪀-🪂🪐-🪕])|\ufe0f"
)

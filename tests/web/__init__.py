"""Tests of bot/web/: the routes and the server, over real HTTP (and Socket Mode over a real websocket)."""

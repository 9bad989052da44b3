-- GET the URL (/health, the JWKS).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

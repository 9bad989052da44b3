-- POST the same form each time. Arguments: the urlencoded body, the Authorization header.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
  wrk.method, wrk.body = "POST", args[1]
  wrk.headers["Authorization"] = args[2]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

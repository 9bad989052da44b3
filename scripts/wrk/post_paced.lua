-- POST the same form at a fixed rate. Arguments: body, Authorization header, requests/s for this
-- thread. delay() keeps a schedule of send times, as wrk2 does: a connection that is free waits
-- for the next slot, and slots missed while every connection was busy are sent at once.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "post_form.lua")
local form_init, interval, due = init, 1, nil

function init(args)
  form_init(args)
  interval = 1 / tonumber(args[3])
end

function delay() -- milliseconds before this connection's next request
  local now = clock()
  due = (due or now) + interval
  return math.max(0, math.floor((due - now) * 1000 + 0.5))
end

-- paced(rate): a delay() that keeps a schedule of send times at rate requests/s for this thread,
-- as wrk2 does: a connection that is free waits for the next slot, and slots missed while every
-- connection was busy are sent at once. Needs clock() from common.lua.
function paced(rate)
  local interval, due = 1 / rate, nil
  return function() -- milliseconds before this connection's next request
    local now = clock()
    due = (due or now) + interval
    return math.max(0, math.floor((due - now) * 1000 + 0.5))
  end
end

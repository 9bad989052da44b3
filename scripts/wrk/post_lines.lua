-- POST each line of a file once: single-use inputs (a fresh mfa_token and code, an authorization
-- code). Arguments: the file (urlencoded bodies, one a line), Authorization header, connections
-- per thread, threads. Thread k of n sends lines k, k + n, ...; when they run out its connections
-- park, and it stops at the last answer: done() counts the time until then.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
local bodies, reserved, sent, parked, connections = {}, 0, 0, 0, 1

function init(args)
  local threads, line_number = tonumber(args[4] or 1), 0
  for line in io.lines(args[1]) do
    line_number = line_number + 1
    if (line_number - thread_number) % threads == 0 then bodies[#bodies + 1] = line end
  end
  connections = tonumber(args[3] or 1)
  wrk.method, wrk.headers["Authorization"] = "POST", args[2]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  started = clock()
end

function delay() -- before each request: none while a line is left for it
  if reserved < #bodies then
    reserved = reserved + 1
    return 0
  end
  parked = parked + 1
  if parked == connections then
    stopped = clock()
    wrk.thread:stop()
  end
  return 3600000
end

function request()
  if reserved == 0 then -- wrk's check of the script, before the run: nothing is sent
    return wrk.format(nil, nil, nil, bodies[1])
  end
  sent = sent + 1
  return wrk.format(nil, nil, nil, bodies[sent])
end

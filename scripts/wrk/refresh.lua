-- The refresh_token grant on rotating tokens, as a client uses them: each answer's new refresh
-- token is queued for a later request, so every request spends a fresh one. Arguments: a file of
-- first tokens (one a line, at least one per connection), the Authorization header, and
-- optionally requests/s for this thread (paced as pace.lua does; flat out without it).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
dofile(here .. "pace.lua")
local queue, head, tail, checking = {}, 1, 0, false

local function push(token)
  tail = tail + 1
  queue[tail] = token
end

function init(args)
  for line in io.lines(args[1]) do push(line) end
  wrk.method, wrk.headers["Authorization"] = "POST", args[2]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  checking = thread_number == 1 -- wrk calls request() once on the first thread to check it
  if args[3] then delay = paced(tonumber(args[3])) end
  started = clock()
end

function request()
  local token = queue[head]
  if checking then
    checking = false
  elseif token == nil then -- failed answers brought no new token: stop
    stopped = stopped or clock()
    wrk.thread:stop()
    token = ""
  else
    queue[head], head = nil, head + 1
  end
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then push(token) end
end

-- The guide's MFA login, paced: the password grant answering mfa_required, then the mfa-otp
-- grant with that mfa_token and the user's code of the current step. Run with one connection
-- per thread (wrk -tN -cN), so each thread's answers come back in the order it asked.
-- Arguments: a file of users (one a line: email, a tab, then "step=code" pairs separated by
-- spaces, for the steps the run covers), the Authorization header, the password, logins/s for
-- this thread, and the thread count. Thread k of n takes lines k, k + n, ...; a user signs in at
-- most once per 30-second step (a TOTP code is single use). Statuses other than the 403 and the
-- 200 expected are counted in `unexpected`.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
dofile(here .. "pace.lua")
local MFA_OTP = "http://protekt.dev/oauth/grant-type/mfa-otp"
local users, current, last_step, password, pace = {}, 0, {}, "", nil
local mfa_token = nil -- set between the two steps
unexpected = 0

local function escape(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function step() return math.floor(os.time() / 30) end

local function next_user() -- the next user who has not signed in during this step
  for _ = 1, #users do
    current = current % #users + 1
    if last_step[current] ~= step() then return end
  end
end

function init(args)
  local threads, line_number = tonumber(args[5] or 1), 0
  for line in io.lines(args[1]) do
    line_number = line_number + 1
    if (line_number - thread_number) % threads == 0 then
      local email, pairs_text = line:match("^([^\t]+)\t(.*)$")
      local codes = {}
      for at, code in pairs_text:gmatch("(%d+)=(%d+)") do codes[tonumber(at)] = code end
      users[#users + 1] = {email = escape(email), codes = codes}
    end
  end
  wrk.method, wrk.headers["Authorization"] = "POST", args[2]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  password, pace = escape(args[3]), paced(tonumber(args[4]))
  next_user()
  started = clock()
end

function request()
  local user = users[current]
  if mfa_token then
    return wrk.format(nil, nil, nil, "grant_type=" .. escape(MFA_OTP) .. "&mfa_token="
      .. escape(mfa_token) .. "&otp=" .. (user.codes[step()] or "000000"))
  end
  return wrk.format(nil, nil, nil, "grant_type=password&username=" .. user.email
    .. "&password=" .. password)
end

function response(status, headers, body)
  if mfa_token then -- the second step: tokens expected
    if status ~= 200 then unexpected = unexpected + 1 end
    last_step[current], mfa_token = step(), nil
    next_user()
    return
  end
  mfa_token = status == 403 and body:match('"mfa_token"%s*:%s*"([^"]+)"') or nil
  if not mfa_token then
    unexpected = unexpected + 1
    next_user()
  end
end

function delay() -- the pace holds between logins; the second step follows at once
  if mfa_token then return 0 end
  return pace()
end

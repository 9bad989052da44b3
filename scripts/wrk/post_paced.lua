-- POST the same form at a fixed rate. Arguments: body, Authorization header, requests/s for this
-- thread (see pace.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "post_form.lua")
dofile(here .. "pace.lua")
local form_init = init

function init(args)
  form_init(args)
  delay = paced(tonumber(args[3]))
end

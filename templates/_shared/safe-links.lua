-- Runs first on every format. The manuscript may link only to the web (http, https), to mail
-- (mailto), to DOIs (doi:), to its own sections (#id), and to files inside the report folder
-- by a relative path. Anything else fails the build, naming the target: an absolute path or a
-- `..` segment could embed a file of the machine into the self-contained HTML, and another
-- scheme (javascript:, data:, file:) could run code or fetch from elsewhere. Event-handler
-- attributes (onclick=...) on any element are refused for the same reason.

local allowed_schemes = { http = true, https = true, mailto = true, doi = true }

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Why `target` is refused, or nil when it is acceptable.
local function problem(target)
  -- browsers drop ASCII whitespace and control characters inside a URL ("java\tscript:"), and
  -- a path may arrive percent-encoded ("%2e%2e/"): judge what would actually be followed
  local t = percent_decode(percent_decode(target)):gsub("[%c ]", "")
  if t == "" or t:sub(1, 1) == "#" then return nil end
  local scheme = t:match("^([%a][%w+.-]*):")
  if scheme then
    if allowed_schemes[scheme:lower()] then return nil end
    return "scheme `" .. scheme .. ":` is not allowed (only http, https, mailto, doi)"
  end
  if t:match("^[/\\]") or t:match("^~") then
    return "an absolute path is not allowed (only paths inside the report folder)"
  end
  local path = t:gsub("[?#].*$", "")
  for segment in path:gmatch("[^/\\]+") do
    if segment == ".." then
      return "a `..` segment is not allowed (only paths inside the report folder)"
    end
  end
  return nil
end

local function refuse(kind, target, why)
  error("unsafe " .. kind .. " target \"" .. target .. "\": " .. why, 0)
end

local function check_attributes(el)
  if el.attributes == nil then return end
  for key, _ in pairs(el.attributes) do
    if type(key) == "string" and key:lower():match("^on") then
      error("unsafe attribute `" .. key .. "` on a " .. el.t .. " element: event handlers are not allowed", 0)
    end
  end
end

local function check_link(el)
  local why = problem(el.target)
  if why then refuse("link", el.target, why) end
  check_attributes(el)
end

local function check_image(el)
  local why = problem(el.src)
  if why then refuse("image", el.src, why) end
  check_attributes(el)
end

return {
  {
    Link = check_link,
    Image = check_image,
    Span = check_attributes,
    Div = check_attributes,
    Code = check_attributes,
    CodeBlock = check_attributes,
    Header = check_attributes,
    Table = check_attributes,
    Figure = check_attributes,
  },
}

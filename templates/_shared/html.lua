-- HTML only (runs after crossref.lua). Makes the page explain itself and read well on a phone:
--  * every bound number (a span of class "val" carrying its key) gets a tooltip shown on hover
--    and on keyboard focus: what the value is (its test or statistic), the table cell it
--    stands in, and the input files it was computed from with their SHA-256, all read from
--    results.json beside the manuscript; the span is focusable (tabindex) so keyboard and
--    touch users reach it;
--  * figures get the builders' alt text (`fig-alt`), not the caption repeated;
--  * each table's caption is taken out of the scrolling box, and the box carries a cue that
--    the table scrolls sideways (shown by the page's script only when it does);
--  * a bar of links to the PDF, DOCX and JATS files of the same build (metadata `other-formats`).

local results = nil
local table_numbers = {}

local function read_results()
  local f = io.open("results.json", "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return pandoc.json.decode(text, false)
end

local function short_hash(h)
  if type(h) ~= "string" then return "" end
  return h:sub(1, 12) .. "…"
end

local function describe(key)
  local lines = { key }
  local values = results and results.values or {}
  local value = values[key]
  if not value then
    -- a part of a composite value (the n of an "n (%)", the median of a "median (CI)")
    local whole, part = key:match("^(.*)%.([^.]+)$")
    value = whole and values[whole]
    if value then lines[1] = key .. " (" .. part .. " of " .. whole .. ")" end
  end
  if not value then return table.concat(lines, "\n") end
  local src = value.source or {}
  if src.test then table.insert(lines, src.test) end
  if src.note then table.insert(lines, src.note) end
  if src.table then
    local where = table_numbers[src.table] and ("Table " .. table_numbers[src.table]) or src.table
    if src.cell then where = where .. ", cell " .. src.cell:gsub("/", " × ", 1) end
    table.insert(lines, where)
  end
  if src.inputs and #src.inputs > 0 then
    local files = {}
    for _, name in ipairs(src.inputs) do
      local sha = results.inputs and results.inputs[name]
      table.insert(files, sha and (name .. " (SHA-256 " .. short_hash(sha) .. ")") or name)
    end
    table.insert(lines, "from " .. table.concat(files, ", "))
  end
  return table.concat(lines, "\n")
end

local function number_tables(doc)
  local n = 0
  doc.blocks:walk({
    Table = function(t)
      if t.identifier:match("^tbl%-") and not table_numbers[t.identifier] then
        n = n + 1
        table_numbers[t.identifier] = n
      end
    end,
  })
end

local function explain(span)
  if not span.classes:includes("val") then return nil end
  local key = span.attributes["title"]
  if not key then return nil end
  span.attributes["title"] = nil  -- the tooltip replaces the browser's own, which shows only the key
  span.attributes["data-key"] = key
  span.attributes["data-tip"] = describe(key)
  span.attributes["tabindex"] = "0"
  return span
end

local function alt_text(fig)
  -- the image scrolls on a phone rather than shrinking its text below legibility
  fig.content = pandoc.Blocks({ pandoc.Div(fig.content, pandoc.Attr("", { "figure-scroll" })) })
  -- pandoc writes an image's description as its alt: replace the caption copy by the builder's alt
  return fig:walk({
    Image = function(img)
      local alt = img.attributes["fig-alt"]
      if alt and alt ~= "" then
        img.caption = pandoc.Inlines({ pandoc.Str(alt) })
        img.attributes["fig-alt"] = nil
      end
      return img
    end,
  })
end

local function wrap_table(t)
  local caption = t.caption.long
  local id = t.identifier
  t.caption.long = pandoc.Blocks({})
  t.identifier = ""
  local cap = pandoc.Div(caption, pandoc.Attr("", { "table-caption" }))
  local box = pandoc.Div({ t }, pandoc.Attr("", { "table-scroll" }, { { "tabindex", "0" }, { "role", "region" },
    { "aria-label", pandoc.utils.stringify(caption) } }))
  local cue = pandoc.Div({ pandoc.Plain({ pandoc.Str("Scroll sideways to see the whole table →") }) },
    pandoc.Attr("", { "scroll-cue" }, { { "aria-hidden", "true" } }))
  return pandoc.Div({ cap, cue, box }, pandoc.Attr(id, { "table-wrap" }))
end

local function format_links(meta)
  local formats = meta["other-formats"]
  if not formats then return nil end
  local labels = { pdf = "PDF", docx = "Word (DOCX)", jats = "JATS XML" }
  local files = { pdf = "manuscript.pdf", docx = "manuscript.docx", jats = "manuscript.xml" }
  local inlines = pandoc.Inlines({ pandoc.Str("This manuscript as:") })
  local links = 0
  for name in pandoc.utils.stringify(formats):gmatch("[^,%s]+") do
    if labels[name] then
      inlines:insert(pandoc.Space())
      inlines:insert(pandoc.Link(labels[name], files[name]))
      links = links + 1
    end
  end
  if links == 0 then return nil end  -- an HTML-only build (the preview): no bar without links
  return pandoc.Div({ pandoc.Plain(inlines) }, pandoc.Attr("", { "other-formats" }))
end

function Pandoc(doc)
  results = read_results()
  number_tables(doc)
  doc.blocks = doc.blocks:walk({ Span = explain, Figure = alt_text })
  doc.blocks = doc.blocks:walk({ Table = wrap_table })
  local links = format_links(doc.meta)
  if links then doc.blocks:insert(1, links) end
  doc.meta["other-formats"] = nil
  return doc
end

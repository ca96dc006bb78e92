-- PDF (typst) only: give the classed divs of the manuscript the look the HTML CSS gives them.
local looks = {
  ["table-notes"] = "#block(above: 0.4em, below: 1.2em)[#set text(size: 8pt)\n",
  ["provenance"] = "#block[#set text(size: 8pt)\n",
  ["synthetic-notice"] = "#block(fill: rgb(\"#fff8dc\"), stroke: 0.6pt + rgb(\"#c9a227\"), inset: 7pt, width: 100%)[#set text(size: 9pt)\n",
  ["abstract"] = "#block(fill: rgb(\"#f6f6f3\"), inset: 8pt, width: 100%)[\n",
}

function Div(div)
  for cls, opening in pairs(looks) do
    if div.classes:includes(cls) then
      local out = { pandoc.RawBlock("typst", opening) }
      for _, b in ipairs(div.content) do table.insert(out, b) end
      table.insert(out, pandoc.RawBlock("typst", "]"))
      return out
    end
  end
end

-- Long tables: typst repeats the header rows on each page; the first header cell also carries
-- a marker that prints "Table N (continued)" above the table on every page but the first
-- (the table's figure, labelled with its id, tells on which page it starts).
local function continued_marker(t)
  local caption = pandoc.utils.stringify(t.caption.long or {})
  local number = caption:match("^Table[%s\u{a0}]+(%d+)%.")  -- the crossref filter's "Table N."
  local label = number and ("Table~" .. number)
  if not label or t.identifier == "" or #t.head.rows == 0 then return end
  local cell = t.head.rows[1].cells[1]
  local raw = "#context { let f = query(<" .. t.identifier .. ">); "
    .. "if f.len() > 0 and f.first().location().page() < here().page() { "
    .. "place(top + left, dy: -2.4em, box(width: 30em, text(size: 8.5pt, weight: \"regular\", "
    .. "style: \"italic\")[" .. label .. " (continued)])) } }"
  local blocks = cell.contents
  if #blocks > 0 and blocks[1].content then
    blocks[1].content:insert(1, pandoc.RawInline("typst", raw))
  else
    cell.contents = pandoc.Blocks({ pandoc.Plain({ pandoc.RawInline("typst", raw) }) })
  end
end

-- A group heading row (one cell across the table) is merged into the row under it: the
-- heading above that row's label, the row's numbers at the foot of their cells. Rows do not
-- split over pages (manuscript.typ), so a heading can never end a page alone.
local function ncols(t) return #t.colspecs end

local function bottom(cell)
  local blocks = cell.contents
  if #blocks == 1 and blocks[1].content then
    local inl = blocks[1].content
    inl:insert(1, pandoc.RawInline("typst", "#align(bottom)["))
    inl:insert(pandoc.RawInline("typst", "]"))
  end
end

local function merge_group_rows(t)
  local n = ncols(t)
  for _, body in ipairs(t.bodies) do
    local rows = body.body
    local out = pandoc.List()
    local i = 1
    while i <= #rows do
      local row, nextrow = rows[i], rows[i + 1]
      local heading = #row.cells == 1 and row.cells[1].col_span == n
      if heading and nextrow and #nextrow.cells == n then
        local head_inl = pandoc.utils.blocks_to_inlines(row.cells[1].contents)
        local stub = nextrow.cells[1]
        local stub_inl = pandoc.utils.blocks_to_inlines(stub.contents)
        local merged = pandoc.Inlines({})
        merged:extend(head_inl)
        merged:insert(pandoc.LineBreak())
        merged:extend(stub_inl)
        stub.contents = pandoc.Blocks({ pandoc.Plain(merged) })
        for j = 2, #nextrow.cells do bottom(nextrow.cells[j]) end
        out:insert(nextrow)
        i = i + 2
      else
        out:insert(row)
        i = i + 1
      end
    end
    body.body = out
  end
end

function Table(t)
  continued_marker(t)
  merge_group_rows(t)
  return t
end

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

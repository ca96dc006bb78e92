-- DOCX only: use the PNG rendering of each figure (Word's SVG support varies by version),
-- and give table notes the reference document's "Table Note" paragraph style.
function Image(img)
  if img.src:match("%.svg$") then
    img.src = img.src:gsub("%.svg$", ".png")
  end
  return img
end

function Div(div)
  if div.classes:includes("table-notes") then
    div.attributes["custom-style"] = "Table Note"
    return div
  end
end

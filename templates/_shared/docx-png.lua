-- DOCX only: use the PNG rendering of each figure (Word's SVG support varies by version).
function Image(img)
  if img.src:match("%.svg$") then
    img.src = img.src:gsub("%.svg$", ".png")
  end
  return img
end

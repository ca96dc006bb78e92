-- The abstract and keywords are both in the front matter (`abstract:`, `keywords:`) and in
-- the body (the styled "Abstract" section and its "Keywords:" line). Each format shows one:
--  * JATS, and any format under Quarto (whose title block prints the front-matter abstract),
--    keep the front matter and drop the body's Abstract heading, abstract div and keywords line;
--  * the embedded HTML, DOCX and typst keep the body and drop `abstract` from the metadata
--    (the keywords stay there, for the document properties).
local function is_abstract_heading(b)
  return b.t == "Header" and (b.identifier == "abstract" or pandoc.utils.stringify(b) == "Abstract")
end

local function is_abstract_div(b)
  return b.t == "Div" and b.classes:includes("abstract")
end

local function is_keywords(b)
  return b.t == "Para" and #b.content > 0 and b.content[1].t == "Strong"
    and pandoc.utils.stringify(b.content[1]):match("^Keywords:?$") ~= nil
end

-- pandoc's JATS template reads `tags` (not `keywords`) and pandoc's author fields: the
-- Quarto author schema is mapped onto them (name, orcid, email, equal-contrib, affiliation ids).
local function jats_meta(meta)
  if meta.keywords then meta.tags = meta.keywords end
  if meta.affiliations then
    meta.affiliation = meta.affiliations
    meta.affiliations = nil
  end
  local authors = meta.author
  if authors and pandoc.utils.type(authors) == "List" then
    for _, a in ipairs(authors) do
      if pandoc.utils.type(a) == "table" then
        if a["equal-contributor"] then a["equal-contrib"] = true end
        if a.affiliations then
          local ids = pandoc.List()
          for _, ref in ipairs(a.affiliations) do
            if pandoc.utils.type(ref) == "table" and ref.ref then ids:insert(ref.ref) end
          end
          a.affiliation = ids
          a.affiliations = nil
        end
      end
    end
  end
end

function Pandoc(doc)
  local front = FORMAT:match("jats") ~= nil or quarto ~= nil
  if FORMAT:match("jats") and quarto == nil then jats_meta(doc.meta) end
  if not front then
    doc.meta.abstract = nil
    return doc
  end
  if doc.meta.abstract == nil then return nil end
  local kept = pandoc.Blocks({})
  for _, b in ipairs(doc.blocks) do
    if not (is_abstract_heading(b) or is_abstract_div(b) or is_keywords(b)) then
      kept:insert(b)
    end
  end
  doc.blocks = kept
  return doc
end

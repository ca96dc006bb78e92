-- Quarto's author schema (each author a map of name, orcid, email, affiliations) is for
-- `quarto render`; pandoc's own writers would print every map as "true". The manuscript body
-- has its own title block (templates/_shared/title-block.md.j2), so for the embedded renderers
-- the authors' names go to `author-meta` (document properties) and the maps are dropped.
function Meta(meta)
  if meta.author == nil then
    return nil
  end
  local names = pandoc.List()
  local authors = meta.author
  if pandoc.utils.type(authors) ~= "List" then
    authors = pandoc.List({authors})
  end
  for _, a in ipairs(authors) do
    if pandoc.utils.type(a) == "table" and a.name ~= nil then
      names:insert(pandoc.utils.stringify(a.name))
    else
      names:insert(pandoc.utils.stringify(a))
    end
  end
  meta["author-meta"] = names:map(function(n) return pandoc.MetaString(n) end)
  meta.author = nil
  meta.affiliations = nil
  return meta
end

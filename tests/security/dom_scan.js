// The XSS sweep's DOM check (tests/security/xss_corpus.py fills in the %PLACEHOLDERS%): called with
// the live server's host, returns what in the live document is not inert.
(ownHost) => {
  const problems = [];
  const urlAttrs = new Set(%URL_ATTRS%);
  const bad = %BAD_SCHEMES%;
  const forbidden = new Set(%FORBIDDEN%);
  const scheme = (v) => v.replace(/[\x00-\x20\u200b\ufeff]/g, "").toLowerCase();
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      const tag = el.localName;
      if (forbidden.has(tag)) problems.push(`<${tag}> element`);
      if (tag === "meta" && (el.getAttribute("http-equiv") || "").toLowerCase() === "refresh") problems.push("meta refresh");
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase(), value = attr.value;
        if (name.startsWith("on")) problems.push(`<${tag}> ${name}=${value.slice(0, 60)}`);
        const urlAttr = urlAttrs.has(name) || (name === "href" && tag !== "a");
        if ((urlAttr || name === "href") && bad.some((s) => scheme(value).startsWith(s))) problems.push(`<${tag}> ${name}=${value.slice(0, 60)}`);
        if (urlAttr && /^(https?:)?\/\//i.test(value)) {
          try { if (new URL(value, location.href).host !== ownHost) problems.push(`<${tag}> ${name} -> ${value.slice(0, 80)}`); } catch (e) {}
        }
        if (name === "style" && /url\(/i.test(value)) problems.push(`<${tag}> style url(): ${value.slice(0, 60)}`);
        if (name === "srcdoc") problems.push(`<${tag}> srcdoc`);
      }
      if (tag === "script" && !el.src && el.type !== "application/json" && el.textContent.trim()) problems.push(`inline script: ${el.textContent.trim().slice(0, 80)}`);
      if (tag === "style" && /xss|url\(|@import/i.test(el.textContent)) problems.push(`<style>: ${el.textContent.slice(0, 80)}`);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  if (document.body && document.body.innerText.includes("%EVALUATED%")) problems.push("%EVALUATED% in the page text: a template evaluated 1337*1337");
  return problems;
}

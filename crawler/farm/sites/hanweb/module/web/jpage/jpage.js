/* jpage stand-in for the demo: shows the records of the datastore, no paging */
function $(a){
  if (typeof a === "function") { document.addEventListener("DOMContentLoaded", a); return; }
  var box = document.getElementById(a.replace("#", ""));
  return {jpage: function(cfg){
    var xml = box.querySelector('script[type="text/xml"]').textContent;
    var parts = xml.split("<record><![CDATA[").slice(1).map(function(r){ return r.split("]]></record>")[0]; });
    var ul = document.createElement("ul"); ul.className = "list"; ul.innerHTML = parts.join("");
    box.appendChild(ul);
  }};
}

// The entry point of the frontend bundle. esbuild writes dist/main.js and, for the CSS
// this module imports, dist/main.css; Django's templates load both with the static tag.
import "./main.css";

document.documentElement.classList.add("js");

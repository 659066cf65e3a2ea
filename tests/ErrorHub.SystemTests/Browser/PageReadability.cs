using Microsoft.Playwright;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// What a person on a phone or in dark mode would notice on any page: text they cannot read against its
/// background, and a page wider than their screen.
/// </summary>
internal static class PageReadability
{
    /// <summary>WCAG's minimum contrast for large text; body text should have more, but less than this is unreadable to many.</summary>
    private const double MinimumContrast = 3.0;

    /// <summary>
    /// Visible text whose colour is too close to the background behind it (the first ancestor with an opaque
    /// enough background, or the page's), each as "selector 'text' contrast".
    /// </summary>
    public static async Task<IReadOnlyList<string>> LowContrastTextAsync(IPage page) =>
        await page.EvaluateAsync<string[]>(
            """
            (minimum) => {
              const rgba = value => {
                const parts = (value.match(/[\d.]+/g) || []).map(Number);
                return { r: parts[0] ?? 0, g: parts[1] ?? 0, b: parts[2] ?? 0, a: parts.length > 3 ? parts[3] : 1 };
              };
              const luminance = c => {
                const linear = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
              };
              const over = (top, bottom) => ({
                r: top.r * top.a + bottom.r * (1 - top.a),
                g: top.g * top.a + bottom.g * (1 - top.a),
                b: top.b * top.a + bottom.b * (1 - top.a),
                a: 1,
              });
              // The background a text sits on: its ancestors' backgrounds composed from the page up.
              const backgroundOf = element => {
                const layers = [];
                for (let node = element; node; node = node.parentElement) {
                  const style = getComputedStyle(node);
                  if (style.backgroundImage !== 'none') return null; // gradients and images: not judged
                  const color = rgba(style.backgroundColor);
                  if (color.a > 0) layers.push(color);
                  if (color.a >= 1) break;
                }
                let result = { r: 255, g: 255, b: 255, a: 1 };
                const root = rgba(getComputedStyle(document.documentElement).backgroundColor);
                if (root.a > 0) result = over(root, result);
                for (let i = layers.length - 1; i >= 0; i--) result = over(layers[i], result);
                return result;
              };
              const describe = element => {
                const classes = [...element.classList].slice(0, 2).map(c => '.' + c).join('');
                return element.tagName.toLowerCase() + classes;
              };
              const problems = [];
              const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
              const judged = new Set();
              for (let text = walker.nextNode(); text && problems.length < 15; text = walker.nextNode()) {
                const element = text.parentElement;
                if (!element || judged.has(element) || !text.textContent.trim()) continue;
                judged.add(element);
                const style = getComputedStyle(element);
                if (style.visibility !== 'visible' || Number(style.opacity) < 0.1 || element.getClientRects().length === 0) continue;
                if (element.closest('[hidden], [aria-hidden="true"], #blazor-error-ui, #components-reconnect-modal, .visually-hidden, .sr-only')) continue;
                const box = element.getBoundingClientRect();
                if (box.width < 1 || box.height < 1) continue;
                const background = backgroundOf(element);
                if (!background) continue;
                const foreground = over(rgba(style.color), background);
                const [light, dark] = [luminance(foreground), luminance(background)].sort((a, b) => b - a);
                const contrast = (light + 0.05) / (dark + 0.05);
                if (contrast < minimum) {
                  problems.push(`${describe(element)} '${text.textContent.trim().slice(0, 40)}' contrast ${contrast.toFixed(2)} (${style.color} on rgb(${Math.round(background.r)}, ${Math.round(background.g)}, ${Math.round(background.b)}))`);
                }
              }
              return problems;
            }
            """,
            MinimumContrast);

    /// <summary>The relative luminance (0 black, 1 white) of a colour property of the first element matching the selector.</summary>
    public static async Task<double> LuminanceAsync(IPage page, string selector, string property) =>
        await page.EvaluateAsync<double>(
            """
            ([selector, property]) => {
              const [r, g, b] = getComputedStyle(document.querySelector(selector))[property].match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
              const linear = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
              return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
            }
            """,
            new[] { selector, property });

    /// <summary>
    /// The elements that stick out past the right edge of the window and are not inside a box that scrolls or
    /// clips sideways (so the whole page would scroll), each as "selector 'text' right edge", after the page's own width when it scrolls sideways.
    /// </summary>
    public static async Task<IReadOnlyList<string>> WiderThanWindowAsync(IPage page) =>
        await page.EvaluateAsync<string[]>(
            """
            () => {
              const width = window.innerWidth;
              const pageBoxes = new Set([document.documentElement, document.body, ...document.querySelectorAll('.rz-body, .rz-layout')]);
              const contained = element => {
                for (let node = element.parentElement; node && !pageBoxes.has(node); node = node.parentElement) {
                  const overflow = getComputedStyle(node).overflowX;
                  if (overflow !== 'visible') return true;
                }
                return false;
              };
              const sticking = [];
              // Whatever sticks out, the page itself must not scroll sideways: an absolutely placed element (a hidden
              // column header, say) belongs to no scroll box between it and the page, however deep it sits.
              for (const box of pageBoxes) {
                const overflow = getComputedStyle(box).overflowX;
                const scrolls = box === document.documentElement || box === document.body ? overflow !== 'hidden' && overflow !== 'clip' : overflow === 'auto' || overflow === 'scroll';
                if (scrolls && box.scrollWidth > box.clientWidth + 1) sticking.push(`${box.tagName.toLowerCase()}${[...box.classList].slice(0, 1).map(c => '.' + c).join('')} scrolls sideways: ${box.scrollWidth} px wide in ${box.clientWidth} px`);
              }
              for (const element of document.body.querySelectorAll('*')) {
                const box = element.getBoundingClientRect();
                if (box.width === 0 || box.height === 0 || box.right <= width + 1) continue;
                const style = getComputedStyle(element);
                if (style.visibility !== 'visible' || style.position === 'fixed') continue;
                if (contained(element)) continue;
                // The innermost ones say what to fix; their ancestors only stick out because of them.
                if ([...element.children].some(child => child.getBoundingClientRect().right > width + 1)) continue;
                const classes = [...element.classList].slice(0, 2).map(c => '.' + c).join('');
                sticking.push(`${element.tagName.toLowerCase()}${classes} '${(element.textContent || '').trim().slice(0, 30)}' reaches ${Math.round(box.right)} px`);
                if (sticking.length >= 5) break;
              }
              return sticking;
            }
            """);

    /// <summary>
    /// What a reader on a narrow screen cannot read because something else took the width: the page's main column
    /// covered or pushed aside by the navigation, and text of some length squeezed into a sliver, either cut to a few
    /// characters or stacked a word (or a letter) per line. Text marked <c>data-gives-way</c> (a culprit's namespace, cut so
    /// that its type and method stay whole) may be cut. Each as "selector 'text' width".
    /// </summary>
    public static async Task<IReadOnlyList<string>> SqueezedTextAsync(IPage page) =>
        await page.EvaluateAsync<string[]>(
            """
            () => {
              const problems = [];
              const width = window.innerWidth;
              const main = document.querySelector('.dashboard-main');
              if (main) {
                const box = main.getBoundingClientRect();
                // What covers the middle of the main column's top edge, if not the column itself.
                const probe = document.elementFromPoint(Math.min(width - 1, Math.max(0, box.left + box.width / 2)), Math.max(box.top + 8, 70));
                if (box.width < width * 0.8) problems.push(`main column ${Math.round(box.width)} px of a ${width} px window`);
                else if (probe && !main.contains(probe)) {
                  const classes = [...probe.classList].slice(0, 2).map(c => '.' + c).join('');
                  problems.push(`main column covered by ${probe.tagName.toLowerCase()}${classes}`);
                }
              }
              const describe = element => element.tagName.toLowerCase() + [...element.classList].slice(0, 2).map(c => '.' + c).join('');
              const judged = new Set();
              const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
              for (let text = walker.nextNode(); text && problems.length < 10; text = walker.nextNode()) {
                const element = text.parentElement;
                const content = text.textContent.trim();
                if (!element || judged.has(element) || content.length < 12) continue;
                judged.add(element);
                if (element.closest('[hidden], [aria-hidden="true"], #blazor-error-ui, #components-reconnect-modal, .visually-hidden, .sr-only, svg')) continue;
                // Text the design lets shrink first, beside text that stays whole (a culprit's namespace beside its type and method).
                if (element.closest('[data-gives-way]')) continue;
                const style = getComputedStyle(element);
                if (style.visibility !== 'visible' || element.getClientRects().length === 0) continue;
                const box = element.getBoundingClientRect();
                if (box.width < 1 || box.height < 1 || box.width >= 96) continue;
                const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
                const cut = element.scrollWidth > element.clientWidth + 1 || element.scrollHeight > element.clientHeight + 1;
                const stacked = box.height > lineHeight * 3.5;
                if (cut || stacked) problems.push(`${describe(element)} '${content.slice(0, 30)}' ${Math.round(box.width)} px wide${stacked ? `, ${Math.round(box.height / lineHeight)} lines` : ', cut'}`);
              }
              return problems;
            }
            """);

    /// <summary>
    /// <see cref="SqueezedTextAsync"/> once the page has settled after a change of window size (the navigation folds
    /// through the live circuit, so not at once): empty when nothing is squeezed within a few seconds, or what still is.
    /// </summary>
    public static async Task<IReadOnlyList<string>> SqueezedTextAfterResizeAsync(IPage page)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var problems = await SqueezedTextAsync(page);
            if (problems.Count == 0 || DateTime.UtcNow > deadline)
            {
                return problems;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The roles of controls a person types into or chooses with: each needs a name a screen reader announces.</summary>
    private static readonly HashSet<string> FormControlRoles = ["combobox", "textbox", "searchbox", "spinbutton", "checkbox", "radio", "listbox", "switch", "slider"];

    /// <summary>
    /// Form controls without an accessible name, as the browser's own accessibility tree computes it (what a screen reader
    /// announces, "Empty" or nothing), each as "role &lt;tag class&gt;"; and inputs whose own name is missing, blank or
    /// "Empty", also those a widget hides from the tree.
    /// </summary>
    public static async Task<IReadOnlyList<string>> UnnamedControlsAsync(IPage page)
    {
        // Inputs inside a widget (a Radzen drop-down's hidden inner input) are out of the tree but still carry a name that
        // some readers announce: until December 2026 Radzen's own "Empty".
        var unnamed = (await page.EvaluateAsync<string[]>(
            """
            () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(input => {
                const label = input.getAttribute('aria-label');
                return label !== null ? label.trim() === '' || label.trim() === 'Empty' : !input.getAttribute('aria-labelledby') && !input.labels?.length && !input.closest('label');
              })
              .map(input => 'an input ' + input.outerHTML.slice(0, 200))
            """)).ToList();
        var session = await page.Context.NewCDPSessionAsync(page);
        try
        {
            var tree = await session.SendAsync("Accessibility.getFullAXTree");
            foreach (var node in tree!.Value.GetProperty("nodes").EnumerateArray())
            {
                if (node.TryGetProperty("ignored", out var ignored) && ignored.GetBoolean()
                    || !node.TryGetProperty("role", out var role) || role.GetProperty("value").GetString() is not { } roleName || !FormControlRoles.Contains(roleName)
                    || node.TryGetProperty("name", out var name) && name.TryGetProperty("value", out var nameValue) && nameValue.GetString() is { Length: > 0 } text && text.Trim().Length > 0)
                {
                    continue;
                }

                var element = node.TryGetProperty("backendDOMNodeId", out var domId)
                    ? (await session.SendAsync("DOM.describeNode", new Dictionary<string, object> { ["backendNodeId"] = domId.GetInt32() }))!.Value.GetProperty("node")
                    : default;
                unnamed.Add($"a {roleName} {Describe(element)}");
            }

            return unnamed;
        }
        finally
        {
            await session.DetachAsync();
        }
    }

    private static string Describe(System.Text.Json.JsonElement element)
    {
        if (element.ValueKind != System.Text.Json.JsonValueKind.Object)
        {
            return "(no element)";
        }

        var attributes = element.TryGetProperty("attributes", out var list) ? list.EnumerateArray().Select(value => value.GetString() ?? "").ToList() : [];
        var described = string.Join(" ", Enumerable.Range(0, attributes.Count / 2)
            .Where(i => attributes[2 * i] is "id" or "class" or "name" or "type")
            .Select(i => $"{attributes[2 * i]}=\"{attributes[2 * i + 1]}\""));
        return $"<{element.GetProperty("localName").GetString()} {described}>";
    }
}

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
    /// clips sideways (so the whole page would scroll), each as "selector 'text' right edge".
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
}

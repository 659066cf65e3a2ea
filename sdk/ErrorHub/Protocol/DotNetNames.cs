namespace ErrorHub.Protocol;

/// <summary>
/// Turns the names the C# compiler generates into the names a developer wrote: async and iterator
/// state machines (<c>Shop+&lt;Checkout&gt;d__4.MoveNext</c> → <c>Shop.Checkout</c>), lambdas
/// (<c>&lt;&gt;c__DisplayClass5_0.&lt;Checkout&gt;b__0</c> → <c>Checkout.&lt;lambda&gt;</c>), local functions,
/// generic arity and nested-type separators. The SDK uses it for display; the server uses it again so
/// grouping is stable whatever the client sent. Shared source: changing it changes grouping.
/// </summary>
internal static class DotNetNames
{
    public const string LambdaSuffix = ".<lambda>";

    public static (string? Type, string Function) Normalize(string? typeName, string methodName)
    {
        var function = NormalizeMethod(methodName);
        if (string.IsNullOrEmpty(typeName))
        {
            return (typeName, function);
        }

        // Compiler-generated types are nested in the type that holds the user's method: walk up past them.
        var segments = SplitNested(typeName);
        var kept = segments.Count;
        while (kept > 1 && segments[kept - 1].StartsWith('<'))
        {
            var generated = segments[kept - 1];
            if (function == "MoveNext" && TryGetAngleName(generated, out var stateMachineOwner))
            {
                // <Checkout>d__4.MoveNext → Checkout; the owner may itself be generated: an async lambda
                // (<<Checkout>b__0>d) or an async local function (<<Checkout>g__Validate|4_0>d).
                function = NormalizeMethod(stateMachineOwner);
            }

            kept--;
        }

        var type = string.Join('.', segments.Take(kept).Select(StripArity));
        return (type, function);
    }

    /// <summary>A type's name as written: nested types joined with '.', generic arity and arguments removed.</summary>
    public static string NormalizeTypeName(string typeName) => string.Join('.', SplitNested(typeName).Select(StripArity));

    private static string NormalizeMethod(string methodName)
    {
        if (!methodName.StartsWith('<') || !TryGetAngleName(methodName, out var owner))
        {
            return StripArity(methodName);
        }

        var rest = methodName.AsSpan(owner.Length + 2);

        // The owner is generated too when a lambda or local function sits inside another one.
        owner = NormalizeMethod(owner);
        if (rest.StartsWith("g__"))
        {
            // Local function: <Owner>g__Name|4_0
            var name = rest[3..];
            var bar = name.IndexOf('|');
            return owner + "." + (bar >= 0 ? name[..bar] : name).ToString();
        }

        return rest.StartsWith("b__") ? owner + LambdaSuffix : owner;
    }

    /// <summary>Reads "Owner" out of "&lt;Owner&gt;..." where Owner may itself contain angle brackets.</summary>
    private static bool TryGetAngleName(string name, out string owner)
    {
        owner = "";
        if (name.Length < 2 || name[0] != '<')
        {
            return false;
        }

        var depth = 0;
        for (var i = 0; i < name.Length; i++)
        {
            depth += name[i] switch { '<' => 1, '>' => -1, _ => 0 };
            if (depth == 0)
            {
                owner = name[1..i];
                return owner.Length > 0;
            }
        }

        return false;
    }

    private static List<string> SplitNested(string typeName)
    {
        // '+' separates nested types in reflection names; never split inside angle brackets or inside
        // generic arguments ("Repo`1+<Get>d__3[[Shop.Outer+Inner, Shop, ...]]").
        var segments = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < typeName.Length; i++)
        {
            switch (typeName[i])
            {
                case '<' or '[': depth++; break;
                case '>' or ']': depth--; break;
                case '+' when depth == 0:
                    segments.Add(typeName[start..i]);
                    start = i + 1;
                    break;
            }
        }

        segments.Add(typeName[start..]);
        return segments;
    }

    private static string StripArity(string name)
    {
        // Generic arity: List`1 → List; generic arguments in brackets (from Type.FullName) are dropped too.
        var bracket = name.IndexOf('[', StringComparison.Ordinal);
        if (bracket > 0)
        {
            name = name[..bracket];
        }

        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick > 0 ? name[..tick] : name;
    }
}

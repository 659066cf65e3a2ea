namespace ErrorHub.Protocol;

/// <summary>
/// The second segments of the <c>Microsoft.*</c> namespaces that Microsoft's runtime, SDKs and NuGet packages ship
/// (<c>Microsoft.AspNetCore</c>, <c>Microsoft.Extensions</c>, ...): framework code in every app that shows them. Any other
/// <c>Microsoft.&lt;X&gt;</c> is an app's own code when the client says so (eShopOnContainers' <c>Microsoft.eShopOnContainers</c>,
/// Git Credential Manager's <c>Microsoft.Alm</c>, PowerToys' <c>Microsoft.PowerToys</c>): Microsoft's own open-source apps and
/// every app written in Microsoft's name. The SDK marks frames in-app by this list; grouping version 8 reads the same list as
/// framework code. Shared source, and frozen with grouping version 8: removing or adding a root changes which frame is an
/// event's app frame, so a later grouping version adds roots through its own framework namespaces (docs/grouping.md, "Version 8").
/// </summary>
internal static class MicrosoftProducts
{
    /// <summary>Every root, each listed and justified in docs/grouping.md ("Microsoft's products").</summary>
    public static readonly string[] Roots =
    [
        // The runtime and its base libraries, the compilers' runtime support, the SDK and its tools.
        "Win32", "CSharp", "VisualBasic", "JScript", "Internal", "Interop", "IO", "Diagnostics", "Net", "NET", "DotNet", "Build",
        "CodeAnalysis", "VisualStudio", "TestPlatform", "Testing", "Scripting", "FSharp", "VisualC", "TeamFoundation",
        // ASP.NET Core, Blazor, the hosting and extension libraries, EF Core, the data providers, classic ASP.NET and OWIN.
        "AspNetCore", "JSInterop", "Extensions", "EntityFrameworkCore", "Data", "SqlServer", "AspNet", "Owin", "Web", "OData", "Spatial",
        "OpenApi", "FeatureManagement", "FluentUI", "Fast", "Security",
        // Identity, cloud and service SDKs.
        "Identity", "IdentityModel", "Graph", "Kiota", "Azure", "WindowsAzure", "ServiceFabric", "ApplicationInsights", "Rest",
        "ServiceBus", "DurableTask", "Bot", "Recognizers", "CognitiveServices", "SemanticKernel", "ML", "Spark", "AppCenter", "Intune",
        // Desktop, mobile and game UI frameworks and their toolkits.
        "Maui", "UI", "Windows", "Xaml", "Toolkit", "WindowsAPICodePack", "Graphics", "Expression", "ReactNative", "Terminal", "Phone",
        "Maps", "Xna", "DirectX", "Xbox", "MixedReality", "Ink", "Speech", "Kinect", "Msagl",
        // Office, Dynamics, SQL Server's and Windows' management libraries, PowerShell and its remoting.
        "Office", "Vbe", "Exchange", "SharePoint", "Crm", "Xrm", "PowerPlatform", "Dynamics", "AnalysisServices", "ReportingServices",
        "Reporting", "Management", "Isam", "Deployment", "PowerShell", "WSMan",
        // Older application blocks and their tools: Enterprise Library, Unity, Prism 4, ClearScript, Playwright.
        "Practices", "ClearScript", "Playwright",
    ];

    private static readonly HashSet<string> RootSet = new(Roots, StringComparer.Ordinal);
#if NET9_0_OR_GREATER
    // Ingest classifies names for every event it groups: looked up without cutting a string out of the name.
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> RootLookup = RootSet.GetAlternateLookup<ReadOnlySpan<char>>();
#endif

    /// <summary>
    /// Whether <paramref name="typeName"/> is under <c>Microsoft</c>, and then whether it is one of Microsoft's products:
    /// <c>IsMicrosoft</c> is false for every name outside <c>Microsoft</c>; <c>IsProduct</c> is true for a listed root and for
    /// <c>Microsoft</c> alone or a type right under it (no app's namespace).
    /// </summary>
    public static (bool IsMicrosoft, bool IsProduct) Classify(ReadOnlySpan<char> typeName)
    {
        const string Root = "Microsoft";
        if (!typeName.StartsWith(Root, StringComparison.Ordinal))
        {
            return (false, false);
        }

        if (typeName.Length == Root.Length)
        {
            return (true, true);
        }

        if (typeName[Root.Length] is '+' or '`')
        {
            return (true, true);
        }

        if (typeName[Root.Length] != '.')
        {
            return (false, false); // MicrosoftGraphHelper: another root
        }

        var rest = typeName[(Root.Length + 1)..];
        var end = rest.IndexOfAny('.', '+', '`');
        if (end < 0)
        {
            return (true, true); // a type right under Microsoft: no app lives there
        }

#if NET9_0_OR_GREATER
        return (true, RootLookup.Contains(rest[..end]));
#else
        // The SDK on .NET 8 classifies a method once, when it first fails: a short string per method is nothing.
        return (true, RootSet.Contains(rest[..end].ToString()));
#endif
    }

    /// <summary>Whether the name is under <c>Microsoft</c> but not under one of Microsoft's products: an app's namespace.</summary>
    public static bool IsUnlistedMicrosoft(ReadOnlySpan<char> typeName) => Classify(typeName) is (true, false);
}

using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.Tests;

/// <summary>Events as ingest would hand them to a store.</summary>
internal static class TestEvents
{
    public static readonly DateTimeOffset BaseTime = new(2025, 3, 14, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Strings that break naive quoting, encoding or escaping.</summary>
    public static readonly string[] HostileStrings =
    [
        "it's \"quoted\"",
        @"back\slash \\ and \' and \n literal",
        "NUL\0inside",
        "new\nline\r\nand\ttab",
        "'; DROP TABLE events; --",
        "Grüße, 世界, emoji 🎉, RTL \u202Eabc",
        "\u0001\u0007\u001b\u007f control",
        "",
        "%s {0} $1 `backtick` ${x}",
    ];

    public static ErrorEvent Create(
        int projectId,
        string fingerprint,
        DateTimeOffset timestamp,
        UserRecord? user = null,
        string? title = null,
        string culprit = "Shop.Checkout.PlaceOrder",
        string level = "error",
        Guid? eventId = null) => new()
        {
            EventId = eventId ?? Guid.NewGuid(),
            ProjectId = projectId,
            Timestamp = timestamp,
            ReceivedAt = timestamp.AddSeconds(1),
            Fingerprint = fingerprint,
            GroupingVersion = 1,
            Level = level,
            Title = title ?? $"InvalidOperationException: {fingerprint}",
            Culprit = culprit,
            User = user,
            Exceptions =
            [
                new ExceptionRecord("System.InvalidOperationException", "Sequence contains no elements", "System.Linq",
                [
                    new FrameRecord("PlaceOrder", "Shop.Checkout", "Shop", "/src/Shop/Checkout.cs", 42, 13, InApp: true),
                ]),
            ],
        };

    /// <summary>An event with every field set, hostile strings included.</summary>
    public static ErrorEvent CreateComplete(int projectId, string fingerprint, DateTimeOffset timestamp) => new()
    {
        EventId = Guid.NewGuid(),
        ProjectId = projectId,
        Timestamp = timestamp.AddMilliseconds(123),
        ReceivedAt = timestamp.AddMilliseconds(1456),
        Fingerprint = fingerprint,
        GroupingVersion = 3,
        Level = "fatal",
        Title = "NullReferenceException: Object reference not set to an instance of an object. " + HostileStrings[4],
        Culprit = "Shop.Profile.<LoadAsync>d__4.MoveNext",
        Message = string.Join(" | ", HostileStrings),
        Logger = "Shop.Profile.ProfileService",
        Platform = "csharp",
        Release = "shop@1.4.2+sha.9f3c",
        Environment = "production",
        ServerName = "web-01",
        Exceptions =
        [
            new ExceptionRecord("System.AggregateException", "One or more errors occurred. (Grüße 🎉)", "System.Private.CoreLib",
            [
                new FrameRecord("Wait", "System.Threading.Tasks.Task", "System.Private.CoreLib", null, null, null, InApp: false),
                new FrameRecord("Main", "Shop.Program", "Shop", "/src/Shop/Program.cs", 12, 5, InApp: true),
            ]),
            new ExceptionRecord("System.NullReferenceException", "Object reference not set to an instance of an object.\n" + HostileStrings[1], null,
            [
                new FrameRecord("<LoadAsync>d__4.MoveNext", "Shop.Profile", "Shop", "C:\\src\\Shop\\Profile.cs", 87, 21, InApp: true),
                new FrameRecord("Throw", "System.Runtime.ExceptionServices.ExceptionDispatchInfo", "System.Private.CoreLib", null, 0, null, InApp: false),
            ]),
        ],
        Request = new RequestRecord("POST", "https://shop.example/checkout?bundle='x'", "bundle='x'&q=\\",
            new Dictionary<string, string>
            {
                ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64)",
                ["X-Weird"] = HostileStrings[3],
                ["Accept-Language"] = "de-DE,de;q=0.9",
            }),
        User = new UserRecord("user-42", "jdoe", "jdoe@example.com", "203.0.113.7"),
        Tags = new Dictionary<string, string>
        {
            ["region"] = "eu-west",
            ["feature"] = HostileStrings[5],
            [HostileStrings[0]] = HostileStrings[2],
        },
        Runtime = new NameVersion(".NET", "10.0.12"),
        Os = new NameVersion("Linux", null),
        Sdk = new NameVersion("errorhub.dotnet", "0.1.0"),
    };

    public static UserRecord User(string id) => new(id, null, null, null);
}

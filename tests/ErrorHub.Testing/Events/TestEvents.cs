using System.Security.Cryptography;
using System.Text;
using ErrorHub.Storage.Events;

namespace ErrorHub.Testing.Events;

/// <summary>
/// Stored events, as ingest hands them to a store, for every test project: the store contract, the
/// dashboard's components, the browser tests' seed. One builder, so a change to the event model is
/// made once. (Decoded, not yet stored events for grouping tests are the ingestion tests' own.)
/// </summary>
public static class TestEvents
{
    /// <summary>The culprit (and top in-app frame) of an event when a test does not say.</summary>
    public const string DefaultCulprit = "Shop.Checkout.CheckoutService.PlaceOrderAsync";

    public static readonly DateTimeOffset BaseTime = new(2025, 3, 14, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Strings that break naive quoting, encoding, escaping or markup.</summary>
    public static readonly IReadOnlyList<string> HostileStrings =
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

    /// <summary>A fingerprint as grouping makes them (32 hex digits), from a name a test can read.</summary>
    public static string Fingerprint(string name) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..32];

    public static UserRecord User(string id) => new(id, null, null, null);

    /// <summary>
    /// A minimal valid event of <paramref name="fingerprint"/>'s issue: one exception whose only frame is
    /// the in-app method named by <paramref name="culprit"/>.
    /// </summary>
    public static ErrorEvent Create(
        int projectId,
        string fingerprint,
        DateTimeOffset timestamp,
        UserRecord? user = null,
        string? title = null,
        string culprit = DefaultCulprit,
        string level = "error",
        Guid? eventId = null,
        string type = "System.InvalidOperationException",
        string message = "Sequence contains no elements") => new()
        {
            EventId = eventId ?? Guid.NewGuid(),
            ProjectId = projectId,
            Timestamp = timestamp,
            ReceivedAt = timestamp.AddSeconds(1),
            Fingerprint = fingerprint,
            GroupingVersion = 1,
            Level = level,
            Title = title ?? $"{type[(type.LastIndexOf('.') + 1)..]}: {fingerprint}",
            Culprit = culprit,
            User = user,
            Release = "shop@2.4.1",
            Environment = "production",
            Exceptions = [new ExceptionRecord(type, message, "Shop", [InAppFrame(culprit)])],
        };

    /// <summary>An event of the issue titled <paramref name="title"/>, its message being the title, as the dashboard tests read it.</summary>
    public static ErrorEvent Event(
        string fingerprint,
        string title,
        DateTimeOffset timestamp,
        string culprit = DefaultCulprit,
        string? userId = null,
        string level = "error",
        int projectId = 1,
        Guid? eventId = null) =>
        Create(projectId, fingerprint, timestamp, userId is null ? null : User(userId), title, culprit, level, eventId, message: title);

    /// <summary><paramref name="count"/> events of one issue, one minute apart, the newest at <paramref name="lastSeen"/>, each from another user.</summary>
    public static IEnumerable<ErrorEvent> Events(string fingerprint, string title, DateTimeOffset lastSeen, int count, string culprit = "Shop.Jobs.Run") =>
        Enumerable.Range(0, count).Select(i => Event(fingerprint, title, lastSeen.AddMinutes(-i), culprit, userId: "u-" + i));

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

    /// <summary>"Shop.Checkout.CheckoutService.PlaceOrderAsync" as the frame it names, in a file named after its type.</summary>
    public static FrameRecord InAppFrame(string culprit)
    {
        var dot = culprit.LastIndexOf('.');
        var type = dot > 0 ? culprit[..dot] : null;
        var function = dot > 0 ? culprit[(dot + 1)..] : culprit;
        var file = type is null ? null : "src/" + type.Replace('.', '/') + ".cs";
        return new FrameRecord(function, type, "Shop", file, 42, 17, InApp: true);
    }
}

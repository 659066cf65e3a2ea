using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using ErrorHub.Dashboard.Access;
using Microsoft.Extensions.Caching.Memory;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// The <c>Idempotency-Key</c> header of the issue POSTs (state, assignee, comments; docs/api.md), as Stripe-style APIs take
/// it: a client whose answer was lost sends the same request with the same key, and nothing is written twice. The key names
/// the change itself (<see cref="ActionId"/>: the triage action's id, the comment's id), so the store never holds it twice
/// whatever this server remembers; this server also remembers, per account, each key's request for
/// <see cref="Lifetime"/> (at most <see cref="MaxRemembered"/> keys, the least recently used dropped when full): the same key with another
/// request is refused (422), and the same request once answered is answered again without being made again.
/// </summary>
internal sealed class ApiIdempotency : IDisposable
{
    public const string Header = "Idempotency-Key";
    public const int MaxKeyLength = 255;
    public const int MaxRemembered = 50_000;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    private readonly MemoryCache _requests = new(new MemoryCacheOptions { SizeLimit = MaxRemembered, CompactionPercentage = 0.10 });
    private readonly Lock _creating = new();

    /// <summary>
    /// The key of <paramref name="context"/>'s request (null: none sent), or the 400 that says why it cannot be one: empty,
    /// longer than <see cref="MaxKeyLength"/>, sent twice, or with characters other than printable ASCII.
    /// </summary>
    public static (string? Key, IResult? Problem) Read(HttpContext context)
    {
        var values = context.Request.Headers[Header];
        if (values.Count == 0)
        {
            return (null, null);
        }

        var key = values.Count == 1 ? values[0] : null;
        if (key is null || key.Length is 0 or > MaxKeyLength || key.Any(c => c is < '!' or > '~'))
        {
            return (null, ApiJsonBody.Problem(
                StatusCodes.Status400BadRequest,
                $"{Header} is sent once, 1 to {MaxKeyLength} printable ASCII characters without spaces (a UUID is a good one)"));
        }

        return (key, null);
    }

    /// <summary>The id of what the request with <paramref name="key"/> makes: the same for the same caller, endpoint, issue and key.</summary>
    public static Guid ActionId(ClaimsPrincipal user, string endpoint, int projectId, string fingerprint, string key) =>
        Hash($"idempotency\n{Caller(user)}\n{endpoint}\n{projectId}\n{fingerprint.Length}:{fingerprint}\n{key}");

    /// <summary>
    /// What this server knows of <paramref name="key"/> for <paramref name="request"/> (the endpoint, the issue and the body
    /// as read): <see cref="KeyUse.Reused"/> when it was sent with another request (nothing is made), <see cref="KeyUse.Answered"/>
    /// when the same request was answered already, <see cref="KeyUse.New"/> otherwise (the request is made; a retry of one
    /// whose answer failed makes nothing twice, the action id sees to it).
    /// </summary>
    /// <remarks>
    /// <see cref="KeyUse.InFlight"/>: the same request with the key is being made now (a client that retried before its first
    /// attempt was answered); nothing is made, and the client hears 409 (<see cref="InFlight"/>) and tries again later. A
    /// <see cref="KeyUse.New"/> request holds the key until <see cref="Finished"/>.
    /// </remarks>
    public KeyUse Use(ClaimsPrincipal user, string key, string request)
    {
        var sent = Hash(request);

        // MemoryCache.GetOrCreate is not atomic: two requests racing with one key would each create an entry of their own,
        // and both be made (another body included, which is 422 when it comes a moment later).
        RememberedRequest? entry;
        lock (_creating)
        {
            entry = _requests.GetOrCreate(CacheKey(user, key), item =>
            {
                item.Size = 1;
                item.AbsoluteExpirationRelativeToNow = Lifetime;
                return new RememberedRequest(sent);
            });
        }

        if (entry is null)
        {
            return KeyUse.New;
        }

        if (entry.Request != sent)
        {
            return KeyUse.Reused;
        }

        if (entry.Answered)
        {
            return KeyUse.Answered;
        }

        return entry.TryStart() ? KeyUse.New : KeyUse.InFlight;
    }

    /// <summary>
    /// As <see cref="Use(ClaimsPrincipal, string, string)"/> for the request of <paramref name="context"/>: a new request holds
    /// the key until it ends, answered or failed (a failed one may be sent again).
    /// </summary>
    public KeyUse Use(HttpContext context, string key, string request)
    {
        var use = Use(context.User, key, request);
        if (use == KeyUse.New)
        {
            context.Response.RegisterForDispose(new Holding(this, context.User, key));
        }

        return use;
    }

    /// <summary>The new request with <paramref name="key"/> has ended, answered or not: the same request may be made again.</summary>
    public void Finished(ClaimsPrincipal user, string key)
    {
        if (_requests.TryGetValue(CacheKey(user, key), out RememberedRequest? entry) && entry is not null)
        {
            entry.Stop();
        }
    }

    public static IResult InFlight() => ApiJsonBody.Problem(
        StatusCodes.Status409Conflict,
        $"a request with this {Header} is being made now; wait for its answer, or send it again in a moment to hear how it ended");

    /// <summary>The request with <paramref name="key"/> was made and answered: the same again is answered without making it.</summary>
    public void Answered(ClaimsPrincipal user, string key)
    {
        if (_requests.TryGetValue(CacheKey(user, key), out RememberedRequest? entry) && entry is not null)
        {
            entry.Answered = true;
        }
    }

    /// <summary>How many keys this server remembers now.</summary>
    internal long Remembered => _requests.Count;

    public static IResult Reused() => ApiJsonBody.Problem(
        StatusCodes.Status422UnprocessableEntity,
        $"this {Header} was sent with another request (another endpoint, issue or body); a key names one request: send a new key for a new one");

    private static string CacheKey(ClaimsPrincipal user, string key) => $"{Caller(user)}\n{key}";

    // Keys are the caller's own: two accounts may pick the same one.
    private static string Caller(ClaimsPrincipal user) => AccessClaims.UserId(user)?.ToString("N") ?? user.Identity?.Name ?? "";

    private static Guid Hash(string text) => new(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));

    public void Dispose() => _requests.Dispose();

    private sealed class RememberedRequest(Guid request)
    {
        private int _running;

        public Guid Request { get; } = request;

        public bool Answered { get; set; }

        public bool TryStart() => Interlocked.CompareExchange(ref _running, 1, 0) == 0;

        public void Stop() => Volatile.Write(ref _running, 0);
    }

    private sealed class Holding(ApiIdempotency keys, ClaimsPrincipal user, string key) : IDisposable
    {
        public void Dispose() => keys.Finished(user, key);
    }
}

internal enum KeyUse
{
    New,
    Answered,
    Reused,
    InFlight,
}

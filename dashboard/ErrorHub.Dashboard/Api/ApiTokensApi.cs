using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using ErrorHub.Dashboard.Access;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// The caller's own API tokens in the JSON API (docs/api.md, "API tokens"): listed without their secrets, created
/// (the secret answered once), revoked. The rules are <see cref="Accounts"/>'s, the account page's too.
/// Creating needs a signed-in session: a token cannot mint tokens that would outlive its own revocation. A session
/// changes tokens only with the dashboard's antiforgery token (<see cref="SessionAntiforgery"/>).
/// </summary>
internal static class ApiTokensApi
{
    /// <summary>A name of 100 characters, each escaped as \uXXXX, is 600 bytes: this leaves room and still refuses a flood unread.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    private const int DefaultLimit = 50;
    private const int MaxLimit = 1000;

    public static void MapApiTokensApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/tokens");

        api.MapGet("", async (HttpRequest request, ClaimsPrincipal user, Accounts accounts, CancellationToken cancellationToken) =>
        {
            var limit = DefaultLimit;
            if (request.Query["limit"].ToString() is { Length: > 0 } limitText
                && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
            {
                return Problem(StatusCodes.Status400BadRequest, $"limit is 1 to {MaxLimit}");
            }

            TokenCursor? after = null;
            if (request.Query["cursor"].ToString() is { Length: > 0 } cursorText)
            {
                if (!TokenCursor.TryParse(cursorText, out var parsed))
                {
                    return Problem(StatusCodes.Status400BadRequest, "cursor is a value a previous page returned");
                }

                after = parsed;
            }

            // Newest first, then by id: the order both stores list them in, made explicit here so the cursor's order is this one.
            var tokens = (AccessClaims.UserId(user) is { } userId ? await accounts.GetApiTokensAsync(userId, cancellationToken) : [])
                .OrderByDescending(token => token.CreatedAt.ToUnixTimeSeconds())
                .ThenBy(token => token.Id.ToString("D"), StringComparer.Ordinal)
                .Where(token => after is not { } cursor || cursor.IsBefore(token))
                .Take(limit + 1)
                .ToList();
            var next = tokens.Count > limit ? TokenCursor.Of(tokens[limit - 1]).ToString() : null;
            return Results.Json(new ApiTokenList([.. tokens.Take(limit).Select(ApiTokenInfo.From)], next), ApiTokensJsonContext.Default.ApiTokenList);
        });

        api.MapGet("/{id}", async (string id, ClaimsPrincipal user, Accounts accounts, CancellationToken cancellationToken) =>
            Guid.TryParse(id, out var tokenId) && AccessClaims.UserId(user) is { } userId
            && (await accounts.GetApiTokensAsync(userId, cancellationToken)).SingleOrDefault(token => token.Id == tokenId) is { } token
                ? Results.Json(ApiTokenInfo.From(token), ApiTokensJsonContext.Default.ApiTokenInfo)
                : NotFound());

        api.MapPost("", async (HttpContext context, ClaimsPrincipal user, Accounts accounts, CancellationToken cancellationToken) =>
        {
            if (AccessClaims.UserId(user) is not { } userId)
            {
                return Problem(StatusCodes.Status401Unauthorized, "sign in first");
            }

            if (AccessClaims.ByApiToken(user))
            {
                return Problem(StatusCodes.Status403Forbidden, "tokens are created from a signed-in session (the account page, or this endpoint with the session's antiforgery token), not with a token");
            }

            var (body, problem) = await ApiJsonBody.ReadAsync(context, ApiTokensJsonContext.Default.ApiNewToken, MaxBodyBytes, "{\"name\": \"...\"}", "name is required", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            var created = await accounts.CreateApiTokenAsync(userId, body!.Name, cancellationToken);
            if (!created.Succeeded)
            {
                return Problem(StatusCodes.Status400BadRequest, "name: " + created.Problem);
            }

            var (token, secret) = created.Value;
            return Results.Json(
                ApiCreatedToken.From(token, secret), ApiTokensJsonContext.Default.ApiCreatedToken, statusCode: StatusCodes.Status201Created);
        });

        api.MapDelete("/{id}", async (string id, ClaimsPrincipal user, Accounts accounts, CancellationToken cancellationToken) =>
        {
            return Guid.TryParse(id, out var tokenId) && AccessClaims.UserId(user) is { } userId
                && await accounts.RevokeApiTokenAsync(userId, tokenId, cancellationToken) != ApiTokenRevocation.NotFound
                    ? Results.NoContent()
                    : NotFound();
        });
    }

    private static IResult NotFound() => Problem(StatusCodes.Status404NotFound, "you have no API token with this id");

    private static IResult Problem(int status, string message) =>
        Results.Json(new AccessProblem(message), ApiTokensJsonContext.Default.AccessProblem, statusCode: status);
}

/// <summary>A token as listed: never its secret (only its hash is stored).</summary>
internal sealed record ApiTokenInfo(Guid Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    public static ApiTokenInfo From(ApiToken token) => new(token.Id, token.Name, token.CreatedAt, token.LastUsedAt, token.RevokedAt);
}

/// <summary>The answer to creating a token: the only time its secret is told.</summary>
internal sealed record ApiCreatedToken(Guid Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt, string Token)
{
    public static ApiCreatedToken From(ApiToken token, string secret) => new(token.Id, token.Name, token.CreatedAt, token.LastUsedAt, token.RevokedAt, secret);
}

internal sealed record ApiTokenList(IReadOnlyList<ApiTokenInfo> Items, string? NextCursor);

/// <summary>Where a page of tokens ended: the last token's creation second and id (<c>t&lt;seconds&gt;_&lt;id&gt;</c>).</summary>
internal readonly record struct TokenCursor(long CreatedSeconds, string Id)
{
    public static TokenCursor Of(ApiToken token) => new(token.CreatedAt.ToUnixTimeSeconds(), token.Id.ToString("D"));

    /// <summary>Whether <paramref name="token"/> comes after this cursor in the list's order (newest first, then by id).</summary>
    public bool IsBefore(ApiToken token)
    {
        var created = token.CreatedAt.ToUnixTimeSeconds();
        return created < CreatedSeconds || (created == CreatedSeconds && string.CompareOrdinal(token.Id.ToString("D"), Id) > 0);
    }

    public static bool TryParse(string text, out TokenCursor cursor)
    {
        cursor = default;
        var separator = text.IndexOf('_', StringComparison.Ordinal);
        if (text.Length > 80 || !text.StartsWith('t') || separator < 2
            || !long.TryParse(text.AsSpan(1, separator - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || !Guid.TryParseExact(text.AsSpan(separator + 1), "D", out var id))
        {
            return false;
        }

        cursor = new TokenCursor(seconds, id.ToString("D"));
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"t{CreatedSeconds}_{Id}");
}

internal sealed record ApiNewToken(string? Name);

// A field given twice in a body is refused (ApiJsonBody), not taken as its last value.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never, AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ApiTokenList))]
[JsonSerializable(typeof(ApiTokenInfo))]
[JsonSerializable(typeof(ApiCreatedToken))]
[JsonSerializable(typeof(ApiNewToken))]
[JsonSerializable(typeof(AccessProblem))]
internal sealed partial class ApiTokensJsonContext : JsonSerializerContext;

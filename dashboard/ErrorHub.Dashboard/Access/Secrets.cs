using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// Random secrets handed to people once (API tokens, invitation and setup links) and the hashes the store
/// keeps instead. They carry 256 random bits, so a plain SHA-256 is enough to keep a stolen database from
/// revealing them; a slow password hash would only slow down every API request.
/// </summary>
internal static class Secrets
{
    /// <summary>A URL-safe random secret with a prefix that says what it is, e.g. <c>eh_...</c>.</summary>
    public static string New(string prefix) => prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool FixedTimeEquals(string? a, string? b) =>
        a is not null && b is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}

using System.Text;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>
/// The strings of one batch, each made once. A batch repeats itself: every event has the same field
/// names, and events of one app share frame types, methods, modules and files, so most strings a batch
/// holds are already known by the time they come again. Short strings are looked up by their characters
/// (decoded on the stack) and reused; long ones and those past <see cref="MaxEntries"/> are made as they
/// come. Invalid UTF-8 becomes U+FFFD, as the MessagePack library does.
/// </summary>
internal sealed class Utf8StringTable
{
    /// <summary>Strings longer than this (in bytes) are not looked up: they are rarely repeated and costly to hash.</summary>
    internal const int MaxInternedBytes = 256;

    /// <summary>Bounds what one batch can make the table hold (at most about 1 MB of characters).</summary>
    internal const int MaxEntries = 4096;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public Utf8StringTable()
    {
        _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The text of <paramref name="utf8"/>, cut to at most <paramref name="maxChars"/> characters (never inside a surrogate pair).</summary>
    public string Get(ReadOnlySpan<byte> utf8, int maxChars = int.MaxValue)
    {
        if (utf8.IsEmpty || maxChars <= 0)
        {
            return "";
        }

        if (utf8.Length > MaxInternedBytes)
        {
            return Cut(Utf8.GetString(utf8), maxChars);
        }

        Span<char> buffer = stackalloc char[MaxInternedBytes]; // a byte never makes more than one char
        var chars = buffer[..Utf8.GetChars(utf8, buffer)];
        if (chars.Length > maxChars)
        {
            chars = chars[..(char.IsHighSurrogate(chars[maxChars - 1]) ? maxChars - 1 : maxChars)];
        }

        if (_lookup.TryGetValue(chars, out var known))
        {
            return known;
        }

        var made = new string(chars);
        if (_strings.Count < MaxEntries)
        {
            _strings.Add(made);
        }

        return made;
    }

    internal static string Cut(string value, int maxChars) =>
        maxChars <= 0 ? "" : value.Length <= maxChars ? value : value[..(char.IsHighSurrogate(value[maxChars - 1]) ? maxChars - 1 : maxChars)];
}

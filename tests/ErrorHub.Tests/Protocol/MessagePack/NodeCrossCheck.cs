using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit.Sdk;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>
/// Runs <c>tests/tools/msgpack-crosscheck/crosscheck.cjs</c> (npm's @msgpack/msgpack, an independent
/// implementation) with the machine's <c>node</c>: one process per batch, the request on stdin, the response
/// on stdout. See the script for the request format. A missing Node or a missing <c>node_modules</c> fails the
/// test with the command that fixes it: the cross-check is never skipped.
/// </summary>
internal static class NodeCrossCheck
{
    public const string InstallCommand = "npm ci --prefix tests/tools/msgpack-crosscheck";

    private const string ToolDirectory = "tests/tools/msgpack-crosscheck";
    private const int MissingDependencyExitCode = 3;
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Encodes each case with @msgpack/msgpack; returns the bytes of each.</summary>
    public static IReadOnlyList<byte[]> Encode(IReadOnlyList<(JsonObject? Options, JsonNode Value)> cases)
    {
        var request = new JsonObject
        {
            ["encode"] = new JsonArray(cases.Select(c => (JsonNode)new JsonObject
            {
                ["options"] = c.Options?.DeepClone() ?? new JsonObject(),
                ["value"] = c.Value.DeepClone(),
            }).ToArray()),
        };

        using var response = Run(request);
        var encoded = response.RootElement.GetProperty("encoded");
        var results = new List<byte[]>();
        var index = 0;
        foreach (var item in encoded.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw new XunitException($"@msgpack/msgpack could not encode case {index}: {item.GetRawText()}");
            }

            results.Add(Convert.FromHexString(item.GetString()!));
            index++;
        }

        return results;
    }

    /// <summary>Decodes each input with @msgpack/msgpack; returns each result as a canonical text (see <see cref="JsView"/>).</summary>
    public static IReadOnlyList<string> Decode(IReadOnlyList<byte[]> inputs)
    {
        var request = new JsonObject
        {
            ["decode"] = new JsonArray(inputs.Select(i => JsonValue.Create(Convert.ToHexStringLower(i))!).ToArray()),
        };

        using var response = Run(request);
        return response.RootElement.GetProperty("decoded").EnumerateArray().Select(JsView.FromNode).ToArray();
    }

    private static JsonDocument Run(JsonObject request)
    {
        var toolDirectory = Path.Combine(FindRepositoryRoot(), ToolDirectory);
        var script = Path.Combine(toolDirectory, "crosscheck.cjs");
        if (!File.Exists(script))
        {
            throw new XunitException($"The cross-check script is missing: {script}");
        }

        if (!File.Exists(Path.Combine(toolDirectory, "node_modules", "@msgpack", "msgpack", "package.json")))
        {
            throw new XunitException(
                $"The MessagePack cross-check needs @msgpack/msgpack, which is not installed in {ToolDirectory}/node_modules. " +
                $"Install it from the repository root with: {InstallCommand}");
        }

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = toolDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new XunitException("node did not start");
        }
        catch (Win32Exception error)
        {
            throw new XunitException(
                $"The MessagePack cross-check needs Node.js (`node` on PATH, version 20 or later) and could not start it: {error.Message}");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(request.ToJsonString());
            process.StandardInput.Close();

            if (!process.WaitForExit(ProcessTimeout))
            {
                process.Kill(entireProcessTree: true);
                throw new XunitException($"node {script} did not finish within {ProcessTimeout}");
            }

            process.WaitForExit();
            var output = stdout.GetAwaiter().GetResult();
            var errors = stderr.GetAwaiter().GetResult();
            if (process.ExitCode == MissingDependencyExitCode)
            {
                throw new XunitException($"{errors.Trim()} Install it from the repository root with: {InstallCommand}");
            }

            if (process.ExitCode != 0)
            {
                throw new XunitException($"node {script} exited with {process.ExitCode}: {errors}");
            }

            return JsonDocument.Parse(output);
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ErrorHub.sln")))
            {
                return directory.FullName;
            }
        }

        throw new XunitException($"Could not find the repository root (ErrorHub.sln) above {AppContext.BaseDirectory}");
    }
}

/// <summary>
/// The JavaScript view of a MessagePack value: what @msgpack/msgpack decodes it to, as a canonical text. JS has
/// one number type, so every float and every integer up to 32 bits is a <c>number</c> (compared by its float64
/// bits); 64-bit integers are <c>bigint</c> (decoded with useBigInt64); maps are objects with string keys.
/// </summary>
internal static class JsView
{
    /// <summary>The canonical text of a tagged value from crosscheck.cjs.</summary>
    public static string FromNode(JsonElement node)
    {
        var builder = new StringBuilder();
        AppendNode(builder, node);
        return builder.ToString();
    }

    /// <summary>
    /// What @msgpack/msgpack must decode from the bytes <see cref="MessagePackWriter"/> writes for <paramref name="value"/>.
    /// Integers outside int32/uint32 need the 64-bit formats, which decode as bigint.
    /// </summary>
    public static string ExpectedFromOurWriter(MpValue value)
    {
        var builder = new StringBuilder();
        AppendExpected(builder, value);
        return builder.ToString();
    }

    private static void AppendExpected(StringBuilder builder, MpValue value)
    {
        switch (value)
        {
            case MpNil:
                builder.Append("null");
                break;
            case MpBool b:
                builder.Append(b.Value ? "true" : "false");
                break;
            case MpInt i when i.Value > uint.MaxValue || i.Value < int.MinValue:
                builder.Append("bigint:").Append(i.Value.ToString(CultureInfo.InvariantCulture));
                break;
            case MpInt i:
                AppendNumber(builder, (double)i.Value);
                break;
            case MpFloat f:
                AppendNumber(builder, f.Value);
                break;
            case MpStr s:
                // Our writer turns unpaired surrogates into U+FFFD; JS then decodes valid UTF-8.
                MpCanonical.AppendQuoted(builder, Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s.Value)));
                break;
            case MpBin b:
                builder.Append("bin:").Append(Convert.ToHexStringLower(b.Value));
                break;
            case MpArray a:
                builder.Append('[');
                for (var index = 0; index < a.Items.Count; index++)
                {
                    builder.Append(index == 0 ? string.Empty : ", ");
                    AppendExpected(builder, a.Items[index]);
                }

                builder.Append(']');
                break;
            case MpMap m:
                builder.Append('{');
                for (var index = 0; index < m.Entries.Count; index++)
                {
                    if (m.Entries[index].Key is not MpStr key)
                    {
                        throw new ArgumentException("JavaScript objects hold maps: keys must be strings", nameof(value));
                    }

                    builder.Append(index == 0 ? string.Empty : ", ");
                    MpCanonical.AppendQuoted(builder, key.Value);
                    builder.Append(": ");
                    AppendExpected(builder, m.Entries[index].Value);
                }

                builder.Append('}');
                break;
            case MpExt e:
                builder.Append(Invariant($"ext({e.Type}):")).Append(Convert.ToHexStringLower(e.Data));
                break;
            case MpTimestamp t:
            {
                var ticks = t.Value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
                var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var remainder);
                if (remainder < 0)
                {
                    seconds--;
                    remainder += TimeSpan.TicksPerSecond;
                }

                builder.Append(Invariant($"timestamp:{seconds}s+{remainder * 100}ns"));
                break;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(value), value.GetType().Name, "unknown value kind");
        }
    }

    private static void AppendNode(StringBuilder builder, JsonElement node)
    {
        var tag = node.GetProperty("t").GetString();
        switch (tag)
        {
            case "nil":
                builder.Append("null");
                break;
            case "bool":
                builder.Append(node.GetProperty("v").GetBoolean() ? "true" : "false");
                break;
            case "bigint":
                builder.Append("bigint:").Append(node.GetProperty("v").GetString());
                break;
            case "number":
                AppendNumber(builder, BitConverter.UInt64BitsToDouble(ulong.Parse(node.GetProperty("bits").GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                break;
            case "str":
                MpCanonical.AppendQuoted(builder, node.GetProperty("v").GetString()!);
                break;
            case "bin":
                builder.Append("bin:").Append(node.GetProperty("v").GetString());
                break;
            case "array":
            {
                builder.Append('[');
                var first = true;
                foreach (var item in node.GetProperty("v").EnumerateArray())
                {
                    builder.Append(first ? string.Empty : ", ");
                    AppendNode(builder, item);
                    first = false;
                }

                builder.Append(']');
                break;
            }

            case "map":
            {
                builder.Append('{');
                var first = true;
                foreach (var entry in node.GetProperty("v").EnumerateArray())
                {
                    builder.Append(first ? string.Empty : ", ");
                    MpCanonical.AppendQuoted(builder, entry[0].GetString()!);
                    builder.Append(": ");
                    AppendNode(builder, entry[1]);
                    first = false;
                }

                builder.Append('}');
                break;
            }

            case "ext":
                builder.Append(Invariant($"ext({node.GetProperty("type").GetInt32()}):")).Append(node.GetProperty("v").GetString());
                break;
            case "timestamp":
                builder.Append(Invariant($"timestamp:{node.GetProperty("sec").GetString()}s+{node.GetProperty("nsec").GetInt64()}ns"));
                break;
            case "error":
                builder.Append("error:").Append(node.GetProperty("message").GetString());
                break;
            default:
                throw new XunitException($"unknown tag from crosscheck.cjs: {node.GetRawText()}");
        }
    }

    private static void AppendNumber(StringBuilder builder, double value) =>
        builder.Append(double.IsNaN(value) ? "number:NaN" : Invariant($"number:{BitConverter.DoubleToUInt64Bits(value):x16}({value:R})"));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Builds the tagged values crosscheck.cjs encodes (see the script).</summary>
internal static class JsDesc
{
    public static JsonNode Nil() => new JsonObject { ["t"] = "nil" };

    public static JsonNode Bool(bool value) => new JsonObject { ["t"] = "bool", ["v"] = value };

    /// <summary>An integer: a JS number when it fits 32 bits, otherwise a BigInt (encoded as uint64/int64).</summary>
    public static JsonNode Int(Int128 value) => new JsonObject { ["t"] = "int", ["v"] = value.ToString(CultureInfo.InvariantCulture) };

    /// <summary>Always a BigInt: the library writes uint64/int64 even for small values.</summary>
    public static JsonNode BigInt(Int128 value) => new JsonObject { ["t"] = "bigint", ["v"] = value.ToString(CultureInfo.InvariantCulture) };

    public static JsonNode Number(double value) =>
        new JsonObject { ["t"] = "number", ["bits"] = BitConverter.DoubleToUInt64Bits(value).ToString("x16", CultureInfo.InvariantCulture) };

    public static JsonNode Str(string value) => new JsonObject { ["t"] = "str", ["v"] = value };

    public static JsonNode Bin(byte[] value) => new JsonObject { ["t"] = "bin", ["v"] = Convert.ToHexStringLower(value) };

    public static JsonNode Array(params JsonNode[] items) => new JsonObject { ["t"] = "array", ["v"] = new JsonArray(items) };

    public static JsonNode Map(params (string Key, JsonNode Value)[] entries) =>
        new JsonObject { ["t"] = "map", ["v"] = new JsonArray(entries.Select(e => (JsonNode)new JsonArray(JsonValue.Create(e.Key), e.Value)).ToArray()) };

    public static JsonNode Ext(sbyte type, byte[] data) => new JsonObject { ["t"] = "ext", ["type"] = (int)type, ["v"] = Convert.ToHexStringLower(data) };

    public static JsonNode Timestamp(long seconds, uint nanoseconds) =>
        new JsonObject { ["t"] = "timestamp", ["sec"] = seconds.ToString(CultureInfo.InvariantCulture), ["nsec"] = nanoseconds };

    /// <summary>A JS Date, encoded by the library's own Date-to-timestamp path (millisecond precision).</summary>
    public static JsonNode Date(long unixMilliseconds) => new JsonObject { ["t"] = "date", ["ms"] = unixMilliseconds.ToString(CultureInfo.InvariantCulture) };

    /// <summary>
    /// Describes a value for the library to encode, and gives the value our reader must then decode. JS loses
    /// what it has no type for: an integral float is a JS integer (the library writes it as an int, -0.0 as 0),
    /// a float32 is a float64.
    /// </summary>
    public static (JsonNode Desc, MpValue Expected) FromValue(MpValue value)
    {
        switch (value)
        {
            case MpNil:
                return (Nil(), value);
            case MpBool b:
                return (Bool(b.Value), value);
            case MpInt i:
                return (Int(i.Value), value);
            case MpFloat f when double.IsInteger(f.Value) && Math.Abs(f.Value) <= 9007199254740991:
                return (Number(f.Value), MpValue.Int((Int128)f.Value));
            case MpFloat f:
                return (Number(f.Value), MpValue.Float64(f.Value));
            case MpStr s:
                return (Str(s.Value), value);
            case MpBin b:
                return (Bin(b.Value), value);
            case MpArray a:
            {
                var items = a.Items.Select(FromValue).ToArray();
                return (Array(items.Select(i => i.Desc).ToArray()), MpValue.Array(items.Select(i => i.Expected).ToArray()));
            }

            case MpMap m:
            {
                var entries = m.Entries.Select(e => (Key: ((MpStr)e.Key).Value, Item: FromValue(e.Value))).ToArray();
                return (
                    Map(entries.Select(e => (e.Key, e.Item.Desc)).ToArray()),
                    MpValue.Map(entries.Select(e => (MpValue.Str(e.Key), e.Item.Expected)).ToArray()));
            }

            case MpExt e:
                return (Ext(e.Type, e.Data), value);
            case MpTimestamp t:
            {
                var ticks = t.Value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
                var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var remainder);
                if (remainder < 0)
                {
                    seconds--;
                    remainder += TimeSpan.TicksPerSecond;
                }

                return (Timestamp(seconds, (uint)(remainder * 100)), value);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(value), value.GetType().Name, "unknown value kind");
        }
    }
}

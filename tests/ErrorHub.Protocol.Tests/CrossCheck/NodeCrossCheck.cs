using System.Collections;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Processes;
using Xunit.Sdk;

namespace ErrorHub.Protocol.Tests.CrossCheck;

/// <summary>
/// Runs <c>tests/tools/msgpack-crosscheck/crosscheck.cjs</c> (npm's @msgpack/msgpack, an implementation independent
/// of ours and of MessagePack-CSharp) with the machine's <c>node</c>: one process per batch, the request on stdin, the
/// response on stdout. See the script for the request format. A missing Node or a missing <c>node_modules</c> fails the
/// test with the command that fixes it: the cross-check is never skipped.
/// </summary>
internal static class NodeCrossCheck
{
    public const string InstallCommand = "npm ci --prefix tests/tools/msgpack-crosscheck";

    private const string ToolDirectory = "tests/tools/msgpack-crosscheck";
    private const int MissingDependencyExitCode = 3;
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Encodes each value (see <see cref="JsDesc.From"/>) with @msgpack/msgpack; returns the bytes of each.</summary>
    public static IReadOnlyList<byte[]> Encode(IReadOnlyList<object?> values, JsonObject? options = null) =>
        EncodeDescriptions(values.Select(JsDesc.From).ToArray(), options);

    /// <summary>Encodes tagged values as crosscheck.cjs describes them, e.g. ones <see cref="DecodeToDescriptions"/> returned.</summary>
    public static IReadOnlyList<byte[]> EncodeDescriptions(IReadOnlyList<JsonNode> descriptions, JsonObject? options = null)
    {
        var request = new JsonObject
        {
            ["encode"] = new JsonArray(descriptions.Select(d => (JsonNode)new JsonObject
            {
                ["options"] = options?.DeepClone() ?? new JsonObject(),
                ["value"] = d.DeepClone(),
            }).ToArray()),
        };

        using var response = Run(request);
        var results = new List<byte[]>();
        var index = 0;
        foreach (var item in response.RootElement.GetProperty("encoded").EnumerateArray())
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

    /// <summary>
    /// Decodes each input with @msgpack/msgpack; returns each as the canonical text of <see cref="Wire.Describe"/> of
    /// what JavaScript saw (see <see cref="JsDesc.ToValue"/>), or <c>error: ...</c> when the library refused it.
    /// </summary>
    public static IReadOnlyList<string> Decode(IReadOnlyList<byte[]> inputs) =>
        DecodeToDescriptions(inputs).Select(d => d["t"]!.GetValue<string>() == "error"
            ? "error: " + d["message"]!.GetValue<string>()
            : Wire.Describe(JsDesc.ToValue(d))).ToArray();

    /// <summary>Decodes one input with @msgpack/msgpack into the <see cref="Wire"/> value JavaScript saw; a refusal fails the test.</summary>
    public static object? DecodeOne(byte[] input)
    {
        var description = DecodeToDescriptions([input]).Single();
        return description["t"]!.GetValue<string>() == "error"
            ? throw new XunitException($"@msgpack/msgpack refused {Convert.ToHexStringLower(input)}: {description["message"]}")
            : JsDesc.ToValue(description);
    }

    /// <summary>Decodes each input with @msgpack/msgpack; returns the tagged values crosscheck.cjs wrote.</summary>
    public static IReadOnlyList<JsonNode> DecodeToDescriptions(IReadOnlyList<byte[]> inputs)
    {
        var request = new JsonObject
        {
            ["decode"] = new JsonArray(inputs.Select(i => JsonValue.Create(Convert.ToHexStringLower(i))!).ToArray()),
        };

        using var response = Run(request);
        return response.RootElement.GetProperty("decoded").EnumerateArray().Select(e => JsonNode.Parse(e.GetRawText())!).ToArray();
    }

    private static JsonDocument Run(JsonObject request)
    {
        var toolDirectory = Path.Combine(RepositoryPaths.Root, ToolDirectory);
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
                $"The MessagePack cross-check needs Node.js (`node` on PATH, version 18 or later) and could not start it: {error.Message}");
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
}

/// <summary>Encode this integer as a JS BigInt, which @msgpack/msgpack always writes as uint64/int64, whatever its size.</summary>
internal sealed record JsBigInt(long Value);

/// <summary>Encode this instant as a JS Date, through the library's own Date-to-timestamp path (millisecond precision).</summary>
internal sealed record JsDate(long UnixMilliseconds);

/// <summary>
/// Between <see cref="Wire"/> values and the tagged JSON values of crosscheck.cjs. JavaScript has one number type, so
/// what comes back loses what it cannot hold: every integer up to 2^53 and every integral float is a number (read back
/// here as an integer), only 64-bit integers are BigInts; a float32 is a float64; a map is an object with string keys.
/// </summary>
internal static class JsDesc
{
    /// <summary>The tagged value for a <see cref="Wire"/> value (or a <see cref="JsBigInt"/> or <see cref="JsDate"/> directive).</summary>
    public static JsonNode From(object? value) => value switch
    {
        null => new JsonObject { ["t"] = "nil" },
        bool b => new JsonObject { ["t"] = "bool", ["v"] = b },
        int or long or ulong => new JsonObject { ["t"] = "int", ["v"] = Convert.ToString(value, CultureInfo.InvariantCulture) },
        JsBigInt big => new JsonObject { ["t"] = "bigint", ["v"] = big.Value.ToString(CultureInfo.InvariantCulture) },
        float f => Number(f),
        double d => Number(d),
        string s => new JsonObject { ["t"] = "str", ["v"] = s },
        byte[] bytes => new JsonObject { ["t"] = "bin", ["v"] = Convert.ToHexStringLower(bytes) },
        DateTimeOffset time => Timestamp(time),
        JsDate date => new JsonObject { ["t"] = "date", ["ms"] = date.UnixMilliseconds.ToString(CultureInfo.InvariantCulture) },
        Extension ext => new JsonObject { ["t"] = "ext", ["type"] = (int)ext.Type, ["v"] = Convert.ToHexStringLower(ext.Data) },
        WireMap map => new JsonObject
        {
            ["t"] = "map",
            ["v"] = new JsonArray(map.Entries.Select(e => (JsonNode)new JsonArray(
                JsonValue.Create(e.Key as string ?? throw new ArgumentException("JavaScript objects hold maps: keys must be strings", nameof(value))),
                From(e.Value))).ToArray()),
        },
        IEnumerable items => new JsonObject { ["t"] = "array", ["v"] = new JsonArray(items.Cast<object?>().Select(From).ToArray()) },
        _ => throw new ArgumentException($"@msgpack/msgpack cannot be asked to encode {value.GetType().Name}", nameof(value)),
    };

    /// <summary>The <see cref="Wire"/> value for what JavaScript decoded.</summary>
    public static object? ToValue(JsonNode node)
    {
        switch (node["t"]!.GetValue<string>())
        {
            case "nil":
                return null;
            case "bool":
                return node["v"]!.GetValue<bool>();
            case "bigint":
                var big = Int128.Parse(node["v"]!.GetValue<string>(), CultureInfo.InvariantCulture);
                return big <= long.MaxValue ? (object)(long)big : (ulong)big;
            case "number":
                var number = BitConverter.UInt64BitsToDouble(ulong.Parse(node["bits"]!.GetValue<string>(), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                return double.IsInteger(number) && Math.Abs(number) <= 9007199254740992 && !(number == 0 && double.IsNegative(number))
                    ? (object)(long)number
                    : number;
            case "str":
                return node["v"]!.GetValue<string>();
            case "bin":
                return Convert.FromHexString(node["v"]!.GetValue<string>());
            case "array":
                return node["v"]!.AsArray().Select(item => ToValue(item!)).ToArray();
            case "map":
                return new WireMap(node["v"]!.AsArray().Select(entry => ((object)entry![0]!.GetValue<string>(), ToValue(entry[1]!))));
            case "ext":
                return new Extension((sbyte)node["type"]!.GetValue<int>(), Convert.FromHexString(node["v"]!.GetValue<string>()));
            case "timestamp":
                var seconds = long.Parse(node["sec"]!.GetValue<string>(), CultureInfo.InvariantCulture);
                var nanoseconds = node["nsec"]!.GetValue<long>();
                return DateTimeOffset.UnixEpoch.AddSeconds(seconds).AddTicks(nanoseconds / 100);
            default:
                throw new XunitException($"unknown tag from crosscheck.cjs: {node.ToJsonString()}");
        }
    }

    private static JsonObject Number(double value) =>
        new() { ["t"] = "number", ["bits"] = BitConverter.DoubleToUInt64Bits(value).ToString("x16", CultureInfo.InvariantCulture) };

    private static JsonObject Timestamp(DateTimeOffset time)
    {
        var seconds = Math.DivRem(time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.TicksPerSecond, out var remainder);
        if (remainder < 0)
        {
            seconds--;
            remainder += TimeSpan.TicksPerSecond;
        }

        return new JsonObject { ["t"] = "timestamp", ["sec"] = seconds.ToString(CultureInfo.InvariantCulture), ["nsec"] = remainder * 100 };
    }
}

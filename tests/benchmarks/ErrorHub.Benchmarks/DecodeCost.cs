using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Http;
using ErrorHub.Ingestion.Scrubbing;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Options;
using ErrorHub.Transport;

namespace ErrorHub.Benchmarks;

/// <summary>
/// Decoding a batch of 100 realistic events, measured as CPU time of this process rather than wall time, so the figure
/// means something on a shared machine where BenchmarkDotNet's wall-clock means do not. Runs on one thread; GC and JIT
/// threads are counted too. Three scopes, so that nobody reads one for another:
/// <c>decode</c> (the MessagePack batch into incoming events: decode, type checks, limits),
/// <c>normalize</c> (that, then each event made the stored one with a fixed grouping: <see cref="CodecBenchmarks.DecodeMessagePackBatch"/>, the default),
/// <c>gunzip</c> (the gzip'd body as the SDK sends it inflated the way the endpoint does, then decoded and normalized),
/// <c>prepare</c> (what ingest does to a batch before it is stored: decode, scrub, group, normalize, <c>BatchPreparer</c>),
/// <c>group</c> (decode, scrub, group), <c>group-http</c> (the same with the root cause an HTTP client's 503, which grouping version 5
/// reads a status from and for which it also computes version 4's fingerprint, to carry as the legacy one),
/// <c>group-loop</c> (the same with the root cause a window failure under WinForms' message loop whose only app frame is Main,
/// which grouping version 6 reads otherwise and for which it also computes version 5's fingerprint), and <c>group-v5</c> and
/// <c>group-loop-v5</c> (the same two grouped by version 5's rules, in the same build: the baseline of the other two),
/// <c>group-null</c> (one exception, a NullReferenceException inside Dapper with no app frame, which grouping version 7 keys by
/// its method and for which it also computes version 6's fingerprint), <c>group-setter</c> (one exception, a console refusal
/// reached through a framework property setter with no app frame, which version 7 keys by the setter's caller), and
/// <c>group-v6</c>, <c>group-null-v6</c>, <c>group-setter-v6</c> (the web-shop event and those two grouped by version 6's rules),
/// <c>group-v7</c> (the web-shop event grouped by version 7's rules: the baseline of <c>group</c> under version 8, whose Microsoft
/// frames it reads by their in-app mark), <c>group-msapp</c> and <c>group-msapp-v7</c> (the web-shop event with the shop's own code
/// under <c>Microsoft.Contoso</c>, marked in-app, grouped by version 8, which keys it by that frame and also computes version 7's
/// fingerprint to carry as the legacy one, and by version 7), <c>group-v9</c> (the web-shop event grouped by version 9: the baseline of
/// <c>group</c> under version 10), <c>group-inlined</c> and <c>group-inlined-v9</c> (a minimal API handler's failure as a Release build sends it,
/// the handler inlined away, grouped by version 10, which keys it by the route and also computes version 9's fingerprint, and by version 9),
/// <c>group-v10</c> (the web-shop event grouped by version 10: the baseline of <c>group</c> under version 11), <c>group-inlined-method</c> and
/// <c>group-inlined-method-v10</c> (a minimal API method handler's failure inlined away, with the SDK's handler tag, grouped by version 11, which keys
/// it by the method and also computes version 10's fingerprint, and by version 10), <c>group-v11</c> (the web-shop event grouped by version 11: the
/// baseline of <c>group</c> under version 12), <c>group-helper</c> and <c>group-helper-v11</c> (an <c>async void</c> action's
/// <c>ObjectDisposedException</c> from the request's features after the response, thrown by <c>FeatureReferences</c>' own throw helper, grouped by
/// version 12, which keys it by that helper's type and also computes version 11's fingerprint, and by version 11), <c>group-v16</c> (the web-shop
/// event grouped by version 16: the baseline of <c>group</c> under version 17), <c>group-com</c> and <c>group-com-v16</c> (an Excel add-in's
/// <c>COMException</c> beside its app frame, its HRESULT in the message, grouped by version 17, which counts the code and also computes version 16's
/// fingerprint, and by version 16),
/// <c>rows</c> (that, then every column of each event's ClickHouse row computed, as the driver does when it encodes the insert);
/// on the batches <c>ingest-load</c> sends (20 distinct failures among 100 events): <c>validate</c> (what a request does with the
/// journal on: inflate and validate), <c>validate-decode</c> (the same with the whole batch decoded into events to validate it, as
/// requests did before validating made none: the baseline of <c>validate</c>), <c>prepare-load</c> (prepare) and <c>flush</c> (what the journal's flusher does: inflate, prepare,
/// encode each row as the ClickHouse store does).
/// </summary>
internal static class DecodeCost
{
    public static void Run(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var scopes = args.Length > 1 ? args[1].Split(',') : ["normalize"];
        if (scopes is ["all"])
        {
            scopes = ["decode", "normalize", "gunzip"];
        }

        var events = Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(_ => RealisticEvent.Create()).ToArray();
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        EventWireWriter.WriteBatch(buffer, events);
        var body = buffer.WrittenSpan.ToArray();
        var gzipped = CodecBenchmarks.Gzip(body);
        var httpEvents = Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(_ => RealisticEvent.Create()).ToArray();
        foreach (var e in httpEvents)
        {
            e.Exceptions[e.Exceptions.Count - 1].Type = "System.Net.Http.HttpRequestException";
            e.Exceptions[e.Exceptions.Count - 1].Value = "Response status code does not indicate success: 503 (Service Unavailable).";
        }

        var httpBuffer = new ArrayBufferWriter<byte>(1 << 20);
        EventWireWriter.WriteBatch(httpBuffer, httpEvents);
        var httpBody = httpBuffer.WrittenSpan.ToArray();
        var microsoftAppEvents = Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(_ => RealisticEvent.Create()).ToArray();
        foreach (var frame in microsoftAppEvents.SelectMany(e => e.Exceptions).SelectMany(x => x.Frames).Where(f => f.InApp))
        {
            frame.Type = "Microsoft.Contoso." + frame.Type;
        }

        var microsoftAppBuffer = new ArrayBufferWriter<byte>(1 << 20);
        EventWireWriter.WriteBatch(microsoftAppBuffer, microsoftAppEvents);
        var microsoftAppBody = microsoftAppBuffer.WrittenSpan.ToArray();
        var loopEvents = Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(_ => RealisticEvent.Create()).ToArray();
        foreach (var e in loopEvents)
        {
            var root = e.Exceptions[e.Exceptions.Count - 1];
            root.Type = "System.ComponentModel.Win32Exception";
            root.Value = "Error creating window handle.";
            root.Frames.Clear();
            foreach (var (type, function) in WindowFailureFrames)
            {
                root.Frames.Add(new StackFrameEntry { Type = type, Function = function, Module = "System.Windows.Forms", InApp = !type.StartsWith("System.", StringComparison.Ordinal) });
            }
        }

        var loopBuffer = new ArrayBufferWriter<byte>(1 << 20);
        EventWireWriter.WriteBatch(loopBuffer, loopEvents);
        var loopBody = loopBuffer.WrittenSpan.ToArray();
        var nullBody = FrameworkOnlyBatch("System.NullReferenceException", "Object reference not set to an instance of an object.", NullDereferenceFrames);
        var inlinedBody = InlinedHandlerBatch("GET /lambda/profile", "HTTP: GET /lambda/profile", handler: null);
        var inlinedMethodBody = InlinedHandlerBatch("GET /static/profile", "HTTP: GET /static/profile => Profile", handler: "Handlers.Profile");
        var helperBody = FrameworkOnlyBatch("System.ObjectDisposedException",
            "IFeatureCollection has been disposed.\nObject name: 'Collection'.", OwnThrowHelperFrames, inApp: type => type.StartsWith("Scenarios.", StringComparison.Ordinal));
        // Version 17: a COM error beside an app frame whose message reports its HRESULT, the events that also compute version 16's fingerprint.
        var comBody = FrameworkOnlyBatch("System.Runtime.InteropServices.COMException", "Exception from HRESULT: 0x800A03EC", ComFrames,
            inApp: type => type.StartsWith("Scenarios.", StringComparison.Ordinal));
        var setterBody = FrameworkOnlyBatch("System.ArgumentOutOfRangeException",
            "The value must be greater than or equal to zero and less than the console's buffer size in that dimension.", SetterFrames);

        // The batches ingest-load sends: every event its own user, 20 messages and 10 app methods among 100 events (so 20
        // distinct failures a batch, about 10 issues), gzip'd as the SDK sends them.
        var loadEvents = Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(i =>
        {
            var e = RealisticEvent.Create();
            e.User!.Id = "user-" + i;
            e.Exceptions[0].Value = $"Sequence contains more than one matching element ({i % 20})";
            e.Exceptions[0].Frames[1].Function = "PlaceOrder" + (i % 10) + "Async";
            return e;
        }).ToArray();
        var loadBuffer = new ArrayBufferWriter<byte>(1 << 20);
        EventWireWriter.WriteBatch(loadBuffer, loadEvents);
        var loadBody = loadBuffer.WrittenSpan.ToArray();
        var loadGzipped = CodecBenchmarks.Gzip(loadBody);
        var rows = new ArrayBufferWriter<byte>(1 << 20);
        var decoder = new EventBatchDecoder(new IngestLimits());
        var limits = new IngestLimits();
        var scrubber = new EventScrubber(new ScrubbingOptions());
        var preparer = new BatchPreparer(Options.Create(limits), Options.Create(new ScrubbingOptions()));

        foreach (var scope in scopes)
        {
            Func<int> decodeOnce = scope switch
            {
                "decode" => () => decoder.Decode(body).Events.Count,
                "normalize" => () => CodecBenchmarks.DecodeAndNormalize(decoder, body),
                "gunzip" => () => CodecBenchmarks.GunzipDecodeAndNormalize(decoder, gzipped, limits),
                "scrub" => () => Scrub(decoder, scrubber, body),
                "group" => () => ScrubGroup(decoder, scrubber, body),
                "group-http" => () => ScrubGroup(decoder, scrubber, httpBody),
                "group-v5" => () => ScrubGroup(decoder, scrubber, body, ErrorHub.Ingestion.Grouping.GroupingRules.V5),
                "group-loop" => () => ScrubGroup(decoder, scrubber, loopBody),
                "group-loop-v5" => () => ScrubGroup(decoder, scrubber, loopBody, ErrorHub.Ingestion.Grouping.GroupingRules.V5),
                "group-v6" => () => ScrubGroup(decoder, scrubber, body, ErrorHub.Ingestion.Grouping.GroupingRules.V6),
                "group-v7" => () => ScrubGroup(decoder, scrubber, body, ErrorHub.Ingestion.Grouping.GroupingRules.V7),
                "group-msapp" => () => ScrubGroup(decoder, scrubber, microsoftAppBody),
                "group-msapp-v7" => () => ScrubGroup(decoder, scrubber, microsoftAppBody, ErrorHub.Ingestion.Grouping.GroupingRules.V7),
                "group-null" => () => ScrubGroup(decoder, scrubber, nullBody),
                "group-null-v6" => () => ScrubGroup(decoder, scrubber, nullBody, ErrorHub.Ingestion.Grouping.GroupingRules.V6),
                "group-setter" => () => ScrubGroup(decoder, scrubber, setterBody),
                "group-setter-v6" => () => ScrubGroup(decoder, scrubber, setterBody, ErrorHub.Ingestion.Grouping.GroupingRules.V6),
                "group-v9" => () => ScrubGroup(decoder, scrubber, body, ErrorHub.Ingestion.Grouping.GroupingRules.V9),
                "group-inlined" => () => ScrubGroup(decoder, scrubber, inlinedBody),
                "group-inlined-v9" => () => ScrubGroup(decoder, scrubber, inlinedBody, ErrorHub.Ingestion.Grouping.GroupingRules.V9),
                "group-v10" => () => ScrubGroup(decoder, scrubber, body, ErrorHub.Ingestion.Grouping.GroupingRules.V10),
                "group-inlined-method" => () => ScrubGroup(decoder, scrubber, inlinedMethodBody),
                "group-inlined-method-v10" => () => ScrubGroup(decoder, scrubber, inlinedMethodBody, ErrorHub.Ingestion.Grouping.GroupingRules.V10),
                "group-v11" => () => ScrubGroup(decoder, scrubber, body, ErrorHub.Ingestion.Grouping.GroupingRules.V11),
                "group-helper" => () => ScrubGroup(decoder, scrubber, helperBody),
                "group-helper-v11" => () => ScrubGroup(decoder, scrubber, helperBody, ErrorHub.Ingestion.Grouping.GroupingRules.V11),
                "group-v16" => () => ScrubGroup(decoder, scrubber, body, ErrorHub.Ingestion.Grouping.GroupingRules.V16),
                "group-com" => () => ScrubGroup(decoder, scrubber, comBody),
                "group-com-v16" => () => ScrubGroup(decoder, scrubber, comBody, ErrorHub.Ingestion.Grouping.GroupingRules.V16),
                "prepare" => () => preparer.Prepare(1, body, DateTimeOffset.UtcNow, out _).Count,
                "rows" => () => EncodeRows(preparer.Prepare(1, body, DateTimeOffset.UtcNow, out _)),
                "validate" => () => Validate(preparer, loadGzipped, limits),
                "validate-decode" => () => ValidateByDecoding(decoder, loadGzipped, limits),
                "prepare-load" => () => preparer.Prepare(1, loadBody, DateTimeOffset.UtcNow, out _).Count,
                "flush" => () => Flush(preparer, loadGzipped, limits, rows),
                _ => throw new ArgumentException($"unknown scope '{scope}': decode, normalize, gunzip, scrub, group, group-http, group-v5, group-loop, group-loop-v5, group-v6, group-v7, group-msapp, group-msapp-v7, group-v9, group-inlined, group-inlined-v9, group-v10, group-inlined-method, group-inlined-method-v10, group-v11, group-helper, group-helper-v11, group-v16, group-com, group-com-v16, group-null, group-null-v6, group-setter, group-setter-v6, prepare, rows, validate, validate-decode, prepare-load, flush or all"),
            };

            // Warm until tiered compilation has promoted the hot methods.
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed < TimeSpan.FromSeconds(Math.Min(seconds, 5)))
            {
                decodeOnce();
            }

            for (var round = 0; round < 3; round++)
            {
                var allocated = GC.GetTotalAllocatedBytes(precise: false);
                var cpuStart = ProcessCpu.Now();
                var wall = Stopwatch.StartNew();
                long decoded = 0;
                while (wall.Elapsed < TimeSpan.FromSeconds(seconds))
                {
                    decoded += decodeOnce();
                }

                var cpu = (ProcessCpu.Now() - cpuStart).TotalSeconds;
                var bytesPerEvent = (GC.GetTotalAllocatedBytes(precise: false) - allocated) / (double)decoded;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{scope,-9} batch of {CodecBenchmarks.BatchSize} ({body.Length:N0} bytes, gzip'd {gzipped.Length:N0}): {decoded:N0} events in {cpu:F2} s CPU ({wall.Elapsed.TotalSeconds:F1} s wall): {cpu * 1e6 / decoded:F2} µs CPU per event, {decoded / cpu:N0} events per CPU-second, {bytesPerEvent:N0} B allocated per event; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
            }
        }
    }

    /// <summary>Every column value of each event's row, as the driver reads them; the lengths are summed so nothing is optimized away.</summary>
    private static int EncodeRows(IReadOnlyList<ErrorEvent> events)
    {
        long sink = 0;
        foreach (var e in events)
        {
            var row = new ClickHouseEventRow(e);
            sink += row.Payload.Length + row.Grouping.Length + row.ExceptionTypes.Length + row.ExceptionValues.Length + row.ExceptionModules.Length
                + row.FrameExceptionIndexes.Length + row.FrameFunctions.Length + row.FrameTypes.Length + row.FrameModules.Length + row.FrameFiles.Length
                + row.FrameLines.Length + row.FrameColumns.Length + row.FrameInApp.Length + row.TagKeys.Length + row.TagValues.Length
                + row.Title.Length + row.Culprit.Length + row.Message.Length + (long)row.UserHashValue % 7 + row.Timestamp.Second + row.ReceivedAt.Second;
        }

        return sink >= 0 ? events.Count : 0;
    }

    /// <summary>What a request does to a batch with the journal on: inflate it and validate it, counting its events.</summary>
    private static int Validate(BatchPreparer preparer, byte[] gzipped, IngestLimits limits)
    {
        using var body = RequestBody.Gunzip(gzipped, limits.MaxDecompressedBytes);
        return preparer.Validate(body.Memory, out _);
    }

    /// <summary>What a request did before validating made no events (the baseline of <c>validate</c>): inflate, decode every event, count them.</summary>
    private static int ValidateByDecoding(EventBatchDecoder decoder, byte[] gzipped, IngestLimits limits)
    {
        using var body = RequestBody.Gunzip(gzipped, limits.MaxDecompressedBytes);
        return decoder.Decode(body.Memory).Events.Count;
    }

    /// <summary>What the journal's flusher does to a batch on ClickHouse: inflate, prepare, and encode each event's row (RowBinary, the payload compressed).</summary>
    private static int Flush(BatchPreparer preparer, byte[] gzipped, IngestLimits limits, ArrayBufferWriter<byte> rows)
    {
        IReadOnlyList<ErrorEvent> events;
        using (var body = RequestBody.Gunzip(gzipped, limits.MaxDecompressedBytes))
        {
            events = preparer.Prepare(1, body.Memory, DateTimeOffset.UtcNow, out _);
        }

        rows.ResetWrittenCount();
        var chains = new ClickHouseChainCache(); // one per batch of 100 here; the flusher's is one per insert of up to 10,000
        foreach (var e in events)
        {
            ClickHouseEventEncoding.Write(rows, e, chains);
        }

        return events.Count;
    }

    private static int Scrub(EventBatchDecoder decoder, EventScrubber scrubber, byte[] body)
    {
        var n = 0;
        foreach (var e in decoder.Decode(body).Events)
        {
            n += scrubber.Scrub(e).Exceptions.Count >= 0 ? 1 : 0;
        }

        return n;
    }

    private static int ScrubGroup(EventBatchDecoder decoder, EventScrubber scrubber, byte[] body, ErrorHub.Ingestion.Grouping.GroupingRules? rules = null)
    {
        var n = 0;
        foreach (var e in decoder.Decode(body).Events)
        {
            var scrubbed = scrubber.Scrub(e);
            var grouping = rules is null ? ErrorHub.Ingestion.Grouping.Grouper.Group(scrubbed) : ErrorHub.Ingestion.Grouping.Grouper.Group(scrubbed, rules);
            n += grouping.Fingerprint.Length > 0 ? 1 : 0;
        }

        return n;
    }

    /// <summary>A batch of 100 events, each a single exception whose frames are all framework code (no app frame: a report from a library's own thread).</summary>
    private static byte[] FrameworkOnlyBatch(string type, string value, (string Type, string Function)[] frames, Func<string, bool>? inApp = null)
    {
        var events = Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(_ => RealisticEvent.Create()).ToArray();
        foreach (var e in events)
        {
            var root = e.Exceptions[e.Exceptions.Count - 1];
            e.Exceptions.Clear();
            e.Exceptions.Add(root);
            root.Type = type;
            root.Value = value;
            root.Frames.Clear();
            foreach (var (frameType, function) in frames)
            {
                root.Frames.Add(new StackFrameEntry { Type = frameType, Function = function, Module = frameType[..frameType.IndexOf('.', StringComparison.Ordinal)], InApp = inApp?.Invoke(frameType) ?? false });
            }
        }

        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        EventWireWriter.WriteBatch(buffer, events);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A minimal API handler's NullReferenceException as a Release build sends it when the JIT inlined the handler into the endpoint's
    /// request delegate (tests/ErrorHub.Ingestion.Tests/Grouping/MinimalApi): the delegate's generated frame, ASP.NET Core's middleware and
    /// the SDK's, no frame of the app's code, the route tag. Grouping version 10 keys it by the route and computes version 9's fingerprint too;
    /// with a <paramref name="handler"/> tag (a method handler), version 11 keys it by the method and computes version 10's fingerprint too.
    /// </summary>
    private static byte[] InlinedHandlerBatch(string route, string endpoint, string? handler)
    {
        var events = Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(_ => RealisticEvent.Create()).ToArray();
        foreach (var e in events)
        {
            var root = e.Exceptions[e.Exceptions.Count - 1];
            e.Exceptions.Clear();
            e.Exceptions.Add(root);
            root.Type = "System.NullReferenceException";
            root.Value = "Object reference not set to an instance of an object.";
            root.Frames.Clear();
            root.Frames.Add(new StackFrameEntry { Function = "lambda_method9", Module = "Anonymously Hosted DynamicMethods Assembly", InApp = false });
            root.Frames.Add(new StackFrameEntry { Type = "Microsoft.AspNetCore.Routing.EndpointMiddleware", Function = "Invoke", Module = "Microsoft.AspNetCore.Routing", InApp = false });
            root.Frames.Add(new StackFrameEntry { Type = "Microsoft.AspNetCore.Authorization.AuthorizationMiddleware", Function = "Invoke", Module = "Microsoft.AspNetCore.Authorization.Policy", InApp = false });
            root.Frames.Add(new StackFrameEntry { Type = "ErrorHub.AspNetCore.ErrorHubMiddleware", Function = "AwaitAsync", Module = "ErrorHub.AspNetCore", InApp = false });
            e.Tags["route"] = route;
            e.Tags["endpoint"] = endpoint;
            if (handler is not null)
            {
                e.Tags["handler"] = handler;
            }
        }

        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        EventWireWriter.WriteBatch(buffer, events);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A null dereferenced inside Dapper's query method, the report's frames all the library's and the runtime's.</summary>
    /// <summary>
    /// An <c>async void</c> action that writes to the response after the request ended (AspNetCoreDiagnosticScenarios' <c>AsyncVoidController</c>), as a
    /// fresh process reports it: <c>FeatureReferences.Fetch</c> still a frame of its own (docs/grouping.md, "Version 12").
    /// </summary>
    private static readonly (string Type, string Function)[] OwnThrowHelperFrames =
    [
        ("Microsoft.AspNetCore.Http.Features.FeatureReferences`1", "ThrowContextDisposed"), ("Microsoft.AspNetCore.Http.Features.FeatureReferences`1", "Fetch"),
        ("Microsoft.AspNetCore.Http.DefaultHttpResponse", "get_HasStarted"), ("Microsoft.AspNetCore.Http.HttpResponseWritingExtensions", "WriteAsync"),
        ("Scenarios.Controllers.AsyncVoidController+<Get>d__0", "MoveNext"),
        ("System.Runtime.CompilerServices.AsyncMethodBuilderCore+<>c", "<ThrowAsync>b__7_0"), ("System.Threading.ExecutionContext", "RunInternal"),
    ];

    private static readonly (string Type, string Function)[] ComFrames =
    [
        ("System.RuntimeType", "ForwardCallToInvokeMember"), ("Microsoft.Office.Interop.Excel.Range", "set__Default"),
        ("Scenarios.Export.Store", "PrepareStoreSheet"), ("Scenarios.Export.Store", "WriteToWorksheet"), ("Scenarios.Export.ExportViewModel", "DoExport"),
    ];

    private static readonly (string Type, string Function)[] NullDereferenceFrames =
    [
        ("Dapper.SqlMapper", "GetColumnHash"), ("Dapper.SqlMapper+<QueryAsync>d__33`1", "MoveNext"),
        ("System.Runtime.ExceptionServices.ExceptionDispatchInfo", "Throw"), ("System.Runtime.CompilerServices.TaskAwaiter", "ThrowForNonSuccess"),
        ("System.Runtime.CompilerServices.TaskAwaiter", "HandleNonSuccessAndDebuggerNotification"), ("System.Threading.ExecutionContext", "RunInternal"),
    ];

    /// <summary>The console refusing a column set through a terminal wrapper's property, every frame the shell's and the runtime's.</summary>
    private static readonly (string Type, string Function)[] SetterFrames =
    [
        ("System.Console", "SetCursorPosition"), ("Microsoft.PowerShell.Internal.VirtualTerminal", "set_CursorLeft"),
        ("Microsoft.PowerShell.PSConsoleReadLine", "ReallyRender"), ("Microsoft.PowerShell.PSConsoleReadLine", "ForceRender"),
        ("Microsoft.PowerShell.PSConsoleReadLine", "Insert"), ("Microsoft.PowerShell.PSConsoleReadLine", "ProcessOneKey"),
        ("Microsoft.PowerShell.PSConsoleReadLine", "InputLoop"), ("Microsoft.PowerShell.PSConsoleReadLine", "ReadLine"),
    ];

    /// <summary>A window handle WinForms could not create while its message loop dispatched a message: the app's only frame is Main.</summary>
    private static readonly (string Type, string Function)[] WindowFailureFrames =
    [
        ("System.Windows.Forms.NativeWindow", "CreateHandle"), ("System.Windows.Forms.Control", "CreateHandle"), ("System.Windows.Forms.Control", "get_Handle"),
        ("System.Windows.Forms.Control", "CreateGraphicsInternal"), ("System.Windows.Forms.Control", "WndProcException"),
        ("System.Windows.Forms.NativeWindow", "Callback"), ("System.Windows.Forms.UnsafeNativeMethods", "DispatchMessageW"),
        ("System.Windows.Forms.Application+ThreadContext", "RunMessageLoopInner"), ("System.Windows.Forms.Application+ThreadContext", "RunMessageLoop"),
        ("Shop.Desktop.Program", "Main"),
    ];
}

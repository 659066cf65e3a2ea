using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Json;
using MessagePack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// The fast ingest of the SDK benchmarks (<c>sdk-storm</c>, <c>request-cost</c>): on 127.0.0.1, it gunzips each batch,
/// decodes it enough to count its events, answers 202, and tells its counts at <c>GET /stats</c>. Run as a process of
/// its own (<see cref="StartProcessAsync"/>), its CPU time is not charged to the app under test.
/// </summary>
internal sealed class StormSink : IAsyncDisposable
{
    internal const string Key = "0123456789abcdef0123456789abcdef";

    private readonly WebApplication _app;
    private long _events;
    private long _batches;
    private long _bytes;

    private StormSink(WebApplication app) => _app = app;

    public string Dsn { get; private set; } = "";

    public long Events => Interlocked.Read(ref _events);

    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Bytes received, as sent (gzip'd).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    public void Reset()
    {
        Interlocked.Exchange(ref _events, 0);
        Interlocked.Exchange(ref _batches, 0);
        Interlocked.Exchange(ref _bytes, 0);
    }

    public static async Task<StormSink> StartAsync(bool light = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var sink = new StormSink(app);
        app.MapPost("/api/{project}/events", async (HttpContext context) =>
        {
            using var counted = new CountingStream(context.Request.Body);
            if (light)
            {
                // Read as sent, not gunzipped nor decoded: the batch is taken off the socket, and no more.
                await counted.CopyToAsync(Stream.Null);
                Interlocked.Increment(ref sink._batches);
                Interlocked.Add(ref sink._bytes, counted.BytesRead);
                context.Response.StatusCode = 202;
                return;
            }

            using var body = new MemoryStream();
            await using (var gzip = new GZipStream(counted, CompressionMode.Decompress))
            {
                await gzip.CopyToAsync(body);
            }

            Interlocked.Add(ref sink._events, CountEvents(new ReadOnlySequence<byte>(body.GetBuffer(), 0, (int)body.Length)));
            Interlocked.Increment(ref sink._batches);
            Interlocked.Add(ref sink._bytes, counted.BytesRead);
            context.Response.StatusCode = 202;
        });
        app.MapGet("/stats", () => new SinkStats(sink.Events, sink.Batches, sink.Bytes));
        app.MapPost("/reset", () => sink.Reset());
        await app.StartAsync();
        sink.Dsn = $"http://{Key}@{new Uri(app.Urls.First()).Authority}/1";
        return sink;
    }

    /// <summary>
    /// The sink as a child process (<c>sdk-storm-sink</c>), so that its CPU time is its own; with <paramref name="cpu"/>,
    /// pinned to that CPU (off the core of the app under test).
    /// </summary>
    public static async Task<Child> StartProcessAsync(int? cpu = null, bool light = false)
    {
        var self = typeof(StormSink).Assembly.Location;
        string[] sinkArgs = light ? [self, "sdk-storm-sink", "light"] : [self, "sdk-storm-sink"];
        var start = cpu is { } core
            ? new System.Diagnostics.ProcessStartInfo("taskset", ["-c", core.ToString(CultureInfo.InvariantCulture), "dotnet", .. sinkArgs])
            : new System.Diagnostics.ProcessStartInfo("dotnet", sinkArgs);
        start.RedirectStandardOutput = true;
        var process = System.Diagnostics.Process.Start(start)!;
        return new Child(process, await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the sink did not start"));
    }

    private static int CountEvents(ReadOnlySequence<byte> batch)
    {
        var reader = new MessagePackReader(batch);
        var fields = reader.ReadMapHeader();
        var events = 0;
        for (var i = 0; i < fields; i++)
        {
            if (reader.ReadString() == "events")
            {
                events = reader.ReadArrayHeader();
                for (var e = 0; e < events; e++)
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Skip();
            }
        }

        return events;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    /// <summary>A sink running as a process of its own.</summary>
    internal sealed class Child : IAsyncDisposable
    {
        private readonly System.Diagnostics.Process _process;

        public Child(System.Diagnostics.Process process, string dsn)
        {
            _process = process;
            Dsn = dsn;
            _ = process.StandardOutput.ReadToEndAsync(); // its progress lines must not fill the pipe
        }

        public string Dsn { get; }

        public int Pid => _process.Id;

        /// <summary>User + system CPU seconds the sink used so far.</summary>
        public double CpuSeconds => CpuWatch.Seconds(_process.Id);

        public async Task ResetAsync()
        {
            using var http = new HttpClient();
            (await http.PostAsync($"http://{new Uri(Dsn).Authority}/reset", null)).EnsureSuccessStatusCode();
        }

        public async Task<SinkStats> StatsAsync()
        {
            using var http = new HttpClient();
            return (await http.GetFromJsonAsync<SinkStats>($"http://{new Uri(Dsn).Authority}/stats"))!;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }

    internal sealed record SinkStats(long Events, long Batches, long Bytes)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Events:N0} events in {Batches:N0} batches of {Bytes / Math.Max(1, Batches):N0} bytes");
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

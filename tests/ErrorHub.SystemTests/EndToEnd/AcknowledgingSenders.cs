using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Testing.Batches;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// Raw clients posting fresh batches of ten events to a server's ingest endpoint as fast as it answers, until stopped,
/// keeping the id of every event answered 202: what a test that kills the server must find stored after its restart.
/// A request the kill cuts, or that gets no 202, acknowledged nothing.
/// </summary>
internal sealed class AcknowledgingSenders
{
    private readonly ConcurrentBag<Guid> _acknowledged = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _senders;

    private AcknowledgingSenders(HttpClient client, string projectKey, int senders, Func<bool> serverGone) =>
        _senders = Enumerable.Range(0, senders).Select(_ => Task.Run(() => SendAsync(client, projectKey, serverGone))).ToList();

    public static AcknowledgingSenders Start(HttpClient client, string projectKey, int senders, Func<bool> serverGone) =>
        new(client, projectKey, senders, serverGone);

    /// <summary>Waits (bounded by <paramref name="bound"/>) until <paramref name="events"/> events are acknowledged.</summary>
    public async Task WaitForAsync(int events, TimeSpan bound)
    {
        var waiting = Stopwatch.StartNew();
        while (_acknowledged.Count < events && waiting.Elapsed < bound)
        {
            await Task.Delay(20);
        }
    }

    /// <summary>Stops the senders; returns the ids of every event answered 202.</summary>
    public async Task<HashSet<Guid>> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_senders);
        _stop.Dispose();
        return [.. _acknowledged];
    }

    public static (byte[] Body, Guid[] Ids) FreshBatch(int events)
    {
        var list = new List<object?>();
        var ids = new Guid[events];
        for (var i = 0; i < events; i++)
        {
            ids[i] = Guid.NewGuid();
            list.Add(SampleBatch.CheckoutEvent().With("event_id", ids[i].ToString("N")));
        }

        return (Wire.Encode(SampleBatch.Batch().With("events", list.ToArray())), ids);
    }

    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string projectKey, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.msgpack");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = content };
        request.Headers.Add("X-ErrorHub-Key", projectKey);
        return await client.SendAsync(request, cancellationToken);
    }

    private async Task SendAsync(HttpClient client, string projectKey, Func<bool> serverGone)
    {
        while (!_stop.IsCancellationRequested)
        {
            var (body, ids) = FreshBatch(10);
            try
            {
                using var response = await PostAsync(client, projectKey, body, _stop.Token);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    foreach (var id in ids)
                    {
                        _acknowledged.Add(id);
                    }
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested || serverGone())
            {
                // the process is gone: nothing was acknowledged for this batch
            }
            catch (Exception exception) when (exception is HttpRequestException or System.Net.Sockets.SocketException or IOException)
            {
                // The kill cut this request: not acknowledged. A connection the kill reset just as it opened surfaces as the
                // socket's own error (HttpClient reads its remote end point), not wrapped in an HttpRequestException.
            }
        }
    }
}

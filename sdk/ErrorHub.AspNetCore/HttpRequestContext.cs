using System.Runtime.CompilerServices;
using ErrorHub.Internal;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;

namespace ErrorHub.AspNetCore;

/// <summary>
/// The current request for events captured anywhere inside it. Events from the middleware and the logger wait
/// for the response to complete: a request that ends below 500 was handled by the app (a NotFoundException
/// turned into a 404) and is not reported unless <see cref="ErrorHubOptions.ReportHandledExceptions"/> says so.
/// What the app captures by hand is sent at once. Nothing is allocated for requests that capture nothing.
/// </summary>
internal sealed class HttpRequestContext(CurrentRequests requests) : IRequestContext
{
    /// <summary>What a report inside a request runs through here, for the SDK's warm-up at start (see IRequestContext).</summary>
    public IReadOnlyList<Type> CapturePathTypes { get; } = [typeof(HttpRequestContext), typeof(RequestCapture), typeof(CurrentRequests), typeof(ErrorHubMiddleware)];

    // The interface's methods only call on: the runtime's PrepareMethod leaves a sealed interface implementation
    // uncompiled (as measured), so the work is in the private methods below, which the SDK's warm-up compiles.
    public ErrorHubScope? CurrentRequestScope(ErrorHubClient client) => ScopeOfCurrent(client);

    public RequestReport? FindRequest(ErrorHubClient client, object? request) => Find(client, request);

    public bool TryHoldRefused(ErrorHubClient client, ErrorHubHint hint, CaptureSource source, object? request) =>
        HoldRefused(client, hint, source, request);

    public bool IsPostOfOwnEvents(object? request, string eventsPath, string publicKey) => PostsOwnEvents(request, eventsPath, publicKey);

    public void SeenAgain(ErrorHubClient client, Exception exception, object? request)
    {
        if ((request as HttpContext ?? requests.Current)?.Features.Get<RequestState>() is { } state)
        {
            state.Recapture(exception);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool PostsOwnEvents(object? request, string eventsPath, string publicKey)
    {
        if ((request as HttpContext ?? requests.Current) is not { } context || !HttpMethods.IsPost(context.Request.Method))
        {
            return false;
        }

        // UseExceptionHandler("/error") re-executes the request as its error page: the feature keeps the path that failed.
        // The DSN's path may have a prefix that a reverse proxy takes off before the request reaches the app.
        var path = context.Features.Get<IExceptionHandlerFeature>()?.Path ?? context.Request.Path.Value;
        return path is { Length: > 0 }
            && eventsPath.EndsWith(path, StringComparison.OrdinalIgnoreCase)
            && path.AsSpan().EndsWith(EventsPathTail(eventsPath), StringComparison.OrdinalIgnoreCase)
            && context.Request.Headers[Transport.BackgroundSender.KeyHeader] == publicKey;
    }

    /// <summary><c>/api/&lt;project&gt;/events</c>, the part of the DSN's events path that no proxy takes off.</summary>
    private static ReadOnlySpan<char> EventsPathTail(string eventsPath)
    {
        var project = eventsPath.LastIndexOf("/api/", StringComparison.Ordinal);
        return project < 0 ? eventsPath : eventsPath.AsSpan(project);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ErrorHubScope? ScopeOfCurrent(ErrorHubClient client) =>
        requests.Current is { } context ? RequestState.For(context, client).Scope : null;

    /// <summary>The request the middleware names needs no look-up: only other captures ask which request is current.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private RequestState? Find(ErrorHubClient client, object? request) =>
        (request as HttpContext ?? requests.Current) is { } context ? RequestState.For(context, client) : null;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool HoldRefused(ErrorHubClient client, ErrorHubHint hint, CaptureSource source, object? request)
    {
        if (source is CaptureSource.Manual or CaptureSource.Contained
            || (request as HttpContext ?? requests.Current) is not { } context || context.Response.HasStarted
            || IsHubConnection(context))
        {
            return false;
        }

        hint.HttpContext = context;
        RequestState.For(context, client).Hold(null, hint);
        return true;
    }

    /// <summary>A SignalR connection (a hub's, a Blazor circuit's): its request lasts as long as the client stays.</summary>
    private static bool IsHubConnection(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<HubMetadata>() is not null;

    /// <summary>What ErrorHub keeps for one request, made on the first capture or breadcrumb of that request.</summary>
    private sealed class RequestState : RequestReport
    {
        private readonly HttpContext _context;
        private readonly ErrorHubClient _client;
        private readonly object _gate = new(); // not Lock: the package also targets net8.0
        private ErrorHubScope? _scope;
        private List<(ErrorHubEvent? Event, ErrorHubHint Hint, Endpoint? Endpoint)>? _held;

        private RequestState(HttpContext context, ErrorHubClient client)
        {
            _context = context;
            _client = client;
        }

        public override ErrorHubScope? MadeScope
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            get => Volatile.Read(ref _scope);
        }

        // Made on first use: a request whose exception the full queue refused needs no scope, nor one only reported in.
        public ErrorHubScope Scope
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            get
            {
                if (Volatile.Read(ref _scope) is { } scope)
                {
                    return scope;
                }

                var made = new ErrorHubScope(_client.ProcessScope, _client.Options.MaxBreadcrumbs);
                return Interlocked.CompareExchange(ref _scope, made, null) ?? made;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static RequestState For(HttpContext context, ErrorHubClient client)
        {
            var features = context.Features;
            if (features.Get<RequestState>() is { } existing)
            {
                return existing;
            }

            lock (features)
            {
                if (features.Get<RequestState>() is not { } state)
                {
                    state = new RequestState(context, client);
                    features.Set(state);
                }

                return state;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Take(ErrorHubEvent errorEvent, ErrorHubHint hint, CaptureSource source)
        {
            hint.HttpContext = _context;
            if (IsHubConnection(_context))
            {
                // A capture on a SignalR connection (a Blazor circuit's component, a hub) found the connection's request
                // (an app's IHttpContextAccessor flows it into every call). That request is not the failure's: it is the
                // WebSocket the page opened long ago, and completes only when the user leaves. Sent at once, with the
                // connection's user and without the request. A log entry whose exception has not reached the app's code
                // yet (EF Core's failed query) waits for it to unwind into the component, as outside any request.
                if (errorEvent.User is null && RequestCapture.CaptureUser(_context, _client.Options) is { } user)
                {
                    errorEvent.User = user;
                }

                // A Blazor circuit's page stands in for the request, as a WebAssembly page's does in the browser.
                if (_context.Features.Get<CircuitPage>() is { } page)
                {
                    RequestCapture.EnrichWithPage(errorEvent, _context, page.Url);
                }

                _client.SendOrHoldUnwinding(errorEvent, hint, source);
                return;
            }

            var response = _context.Response;
            var atOnce = source is CaptureSource.Manual or CaptureSource.Contained;
            if (atOnce || response.HasStarted)
            {
                // Asked for by the app, contained by the framework, or too late for the app to answer differently: the
                // outcome is already known.
                if (response.HasStarted)
                {
                    // A stream the client left mid-response (a gRPC server stream it cancelled, a download it dropped):
                    // the failure logged for it is the client's leaving, not an error of the app. Held events are
                    // judged the same way when the response completes.
                    if (!atOnce && hint.Exception is { } exception && ErrorHubMiddleware.IsClientAbort(_context, exception))
                    {
                        return;
                    }

                    hint.StatusCode = response.StatusCode;
                }

                RequestCapture.Enrich(errorEvent, _context, _client.Options);
                _client.Send(errorEvent, hint);
                return;
            }

            Hold(errorEvent, hint);
        }

        /// <summary>
        /// A log entry reported <paramref name="exception"/> from a catch block that threw it on: its frames then ended
        /// there (in EF Core, say). Having escaped the pipeline, it has the app's frames too: the held event takes them.
        /// </summary>
        public void Recapture(Exception exception)
        {
            lock (_gate)
            {
                foreach (var (errorEvent, hint, _) in _held ?? [])
                {
                    if (errorEvent is not null && ReferenceEquals(hint.Exception, exception))
                    {
                        _client.RecaptureExceptions(errorEvent, exception);
                    }
                }
            }
        }

        /// <summary>
        /// Keeps an event until the response completes, with the endpoint that failed (see RequestCapture.Enrich); a null
        /// event stands for one the full queue refused. The same failure logged again in the request (a messaging library's
        /// inline retries log every attempt: Wolverine's <c>InvokeAsync</c>) takes the place of the one held, so the request
        /// reports it once, as its last attempt failed: the exception that then escapes to the middleware is that one.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Hold(ErrorHubEvent? errorEvent, ErrorHubHint hint)
        {
            bool first;
            lock (_gate)
            {
                first = _held is null;
                _held ??= [];
                var again = errorEvent is null || hint.Exception is not { } exception ? -1 : IndexOfSameFailure(_held, exception);
                if (again >= 0)
                {
                    _held[again] = (errorEvent, hint, _context.GetEndpoint());
                }
                else
                {
                    _held.Add((errorEvent, hint, _context.GetEndpoint()));
                }
            }

            if (first)
            {
                _context.Response.OnCompleted([MethodImpl(MethodImplOptions.AggressiveOptimization)] static (state) => ((RequestState)state).CompleteAsync(), this);
            }
        }

        private static int IndexOfSameFailure(List<(ErrorHubEvent? Event, ErrorHubHint Hint, Endpoint? Endpoint)> held, Exception exception)
        {
            for (var i = 0; i < held.Count; i++)
            {
                if (held[i].Event is not null && held[i].Hint.Exception is { } earlier && RepeatedFailures.AreSame(earlier, exception))
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>
        /// Whether the 405 that ends the request is the error page's, not the app's answer to the failure: UseExceptionHandler("/Error")
        /// runs the failed request again as the error page with the request's own method, and an error page that does not answer that
        /// method refuses it with 405 Method Not Allowed: the Blazor Web App template's Error component (GET and POST) a failed PUT, DELETE
        /// or PATCH, a <c>MapGet("/Error", ...)</c> a failed POST too. Nothing handled the failure then: the error page did not even run.
        /// </summary>
        private bool ErrorPageRefusedMethod(int status, Exception? exception) =>
            status == StatusCodes.Status405MethodNotAllowed && exception is not null
            && ReferenceEquals(_context.Features.Get<IExceptionHandlerFeature>()?.Error, exception);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private Task CompleteAsync()
        {
            List<(ErrorHubEvent? Event, ErrorHubHint Hint, Endpoint? Endpoint)> held;
            lock (_gate)
            {
                held = _held ?? [];
                _held = [];
            }

            try
            {
                var status = GrpcOutcome.StatusOf(_context, out var grpcStatus);
                var answered = _context.Response.HasStarted;
                var options = _client.Options;
                foreach (var (errorEvent, hint, endpoint) in held)
                {
                    if (hint.Exception is { } exception && ErrorHubMiddleware.IsClientAbort(_context, exception))
                    {
                        continue; // a client that went away is not an error of the app
                    }

                    // The app handled it when it answered below 500 (a 404, a 400, a redirect). A request that never
                    // answered was ended by the failure (the client left and the server wrote nothing): not handled.
                    if (status < StatusCodes.Status500InternalServerError && answered && !options.ReportHandledExceptions
                        && !ErrorPageRefusedMethod(status, hint.Exception))
                    {
                        continue;
                    }

                    if (errorEvent is null)
                    {
                        _client.Sender?.CountRefused();
                        continue;
                    }

                    hint.StatusCode = status;
                    if (grpcStatus is not null)
                    {
                        errorEvent.Tags["grpc.status"] = grpcStatus;
                    }

                    RequestCapture.Enrich(errorEvent, _context, options, endpoint);
                    _client.Send(errorEvent, hint);
                }
            }
            catch (Exception)
            {
                // Whatever happens here must not reach the server's request loop; Send already logs its own failures.
            }

            return Task.CompletedTask;
        }
    }
}

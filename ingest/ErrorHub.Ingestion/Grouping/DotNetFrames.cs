using ErrorHub.Protocol;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>What grouping v2 knows about .NET stack frames: which code is the app's, which frames only
/// throw or rethrow, and which framework code is a general-purpose guard. General .NET knowledge, listed
/// in docs/grouping.md; an addition here is a grouping change (the pinned fingerprints say so).</summary>
internal static class DotNetFrames
{
    /// <summary>
    /// Namespaces that are never the app's code, whatever the client marked: the runtime, the
    /// platforms (WPF's shell integration lives in its own top-level namespace, Standard), and
    /// libraries nearly every .NET app ships with. The SDK only excludes System and
    /// Microsoft's products by default, so without this list a JSON or database library's frames would be taken
    /// for the app's. Since version 8, Microsoft here means only Microsoft's products (<see cref="MicrosoftProducts"/>).
    /// </summary>
    private static readonly string[] FrameworkNamespaces =
    [
        "System", "Microsoft", "Internal", "Interop", "Mono", "MS", "Standard", "Windows", "WinRT", "ABI", "Xamarin", "Android", "Java",
        "ObjCRuntime", "Foundation", "UIKit", "UnityEngine", "UnityEditor",
        "Newtonsoft.Json", "Npgsql", "MySqlConnector", "MySql.Data", "Oracle.ManagedDataAccess", "Pomelo.EntityFrameworkCore",
        "SQLitePCL", "StackExchange.Redis", "StackExchange.Profiling", "MongoDB", "Cassandra", "Dapper", "Polly", "Serilog",
        "NLog", "log4net", "AutoMapper", "MediatR", "FluentValidation", "Castle", "Autofac", "Grpc", "Google.Protobuf", "Azure",
        "Amazon", "RabbitMQ.Client", "Confluent.Kafka", "Hangfire", "Quartz", "Swashbuckle", "Xunit", "NUnit", "Moq",
        "RestSharp", "Refit", "Ardalis.GuardClauses",
    ];

    /// <summary>Frames that only carry an exception across an await, a task or a thread: never where anything failed.</summary>
    private static readonly string[] PlumbingTypes =
    [
        "System.Runtime.ExceptionServices.ExceptionDispatchInfo",
        "System.Runtime.CompilerServices.TaskAwaiter", "System.Runtime.CompilerServices.ConfiguredTaskAwaitable",
        "System.Runtime.CompilerServices.ValueTaskAwaiter", "System.Runtime.CompilerServices.ConfiguredValueTaskAwaitable",
        "System.Runtime.CompilerServices.AsyncMethodBuilderCore", "System.Runtime.CompilerServices.AsyncTaskMethodBuilder",
        "System.Runtime.CompilerServices.AsyncValueTaskMethodBuilder", "System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder",
        "System.Runtime.CompilerServices.AsyncVoidMethodBuilder", "System.Runtime.CompilerServices.AsyncIteratorMethodBuilder",
        "System.Runtime.CompilerServices.YieldAwaitable",
        "System.Threading.Tasks.Task", "System.Threading.Tasks.ValueTask", "System.Threading.Tasks.TaskCompletionSource",
        "System.Threading.Tasks.Sources", "System.Threading.Tasks.ContinuationResultTaskFromResultTask",
        "System.Threading.Tasks.ContinuationTaskFromTask", "System.Threading.Tasks.ContinuationResultTaskFromTask",
        "System.Threading.ExecutionContext", "System.Threading.ThreadPoolWorkQueue", "System.Threading.QueueUserWorkItemCallback",
        "System.Threading.ThreadHelper", "System.Threading.Thread", "System.Threading.TimerQueueTimer", "System.Threading.TimerQueue",
        "System.Threading.PortableThreadPool", "System.Threading.WorkerThread",
    ];

    /// <summary>Types whose methods exist to build and throw exceptions for their caller.</summary>
    private static readonly HashSet<string> ThrowHelperTypeNames = new(StringComparer.Ordinal)
    {
        "ThrowHelper", "ThrowHelpers", "ExceptionHelper", "ExceptionHelpers", "Guard", "Guards", "Check", "Ensure",
        "Requires", "Preconditions", "CastHelpers", "ExceptionUtilities",
    };

    /// <summary>
    /// General-purpose framework code that refuses what its caller gave it: the caller's bug, so where
    /// the app called it is the key, not which internal method noticed (which drifts with every runtime
    /// and with inlining: List.Enumerator.MoveNextRare, MoveNext, Enumerable.TryGetFirst, ...).
    /// </summary>
    private static readonly string[] GuardNamespaces =
    [
        "System.Collections", "System.Linq", "System.Array", "System.ArraySegment", "System.Span", "System.ReadOnlySpan", "System.Memory", "System.SZArrayHelper",
        "System.Number", "System.ParseNumbers", "System.Int16", "System.Int32", "System.Int64", "System.UInt16", "System.UInt32",
        "System.UInt64", "System.Byte", "System.SByte", "System.Decimal", "System.Double", "System.Single", "System.Half",
        "System.Boolean", "System.Char", "System.DateTime", "System.DateTimeOffset", "System.DateTimeParse", "System.DateTimeFormat",
        "System.DateOnly", "System.TimeOnly", "System.TimeSpan", "System.Globalization", "System.Guid", "System.Enum",
        "System.Convert", "System.Version", "System.Uri", "System.String", "System.Text.StringBuilder", "System.Text.Json",
        "System.Xml", "Newtonsoft.Json", "System.IO.Path",
    ];

    /// <summary>Exceptions a framework method throws when its caller passed something it cannot use.</summary>
    private static readonly HashSet<string> GuardExceptionTypes = new(StringComparer.Ordinal)
    {
        "System.ArgumentException", "System.ArgumentNullException", "System.ArgumentOutOfRangeException",
        "System.FormatException", "System.OverflowException", "System.InvalidCastException", "System.IndexOutOfRangeException",
        "System.Collections.Generic.KeyNotFoundException", "System.Globalization.CultureNotFoundException",
    };

    /// <summary>Cancellations are noticed, not caused, where their stack ends: their inner exceptions are how the cancellation unwound.</summary>
    private static readonly HashSet<string> CancellationTypes = new(StringComparer.Ordinal)
    {
        "System.OperationCanceledException", "System.Threading.Tasks.TaskCanceledException",
    };

    public static bool IsFrameworkName(string? typeName, GroupingRules rules)
    {
        if (string.IsNullOrEmpty(typeName))
        {
            return false;
        }

        // Version 8: under Microsoft, only Microsoft's products are framework code; the rest is an app's namespace.
        var (isMicrosoft, isProduct) = rules.MicrosoftProductsOnly ? MicrosoftProducts.Classify(typeName) : default;
        if (isProduct)
        {
            return true;
        }

        foreach (var prefix in FrameworkNamespaces)
        {
            if (!isMicrosoft && HasPrefix(typeName, prefix))
            {
                return true;
            }
        }

        for (var version = rules; version is not null; version = version.Previous)
        {
            foreach (var prefix in version.AddedFrameworkNamespaces)
            {
                if (HasPrefix(typeName, prefix))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The app's own code: marked in-app by the client and not in a framework namespace. Since version 8 the client's mark is trusted
    /// under <c>Microsoft</c> whatever the product: the SDK marks none of Microsoft's products in-app unless the app's InAppInclude names
    /// it (PowerShell's own code in PowerShell), where for other libraries it marks every namespace it does not know.
    /// </summary>
    /// <remarks>Since version 9 a NuGet package's frame is not marked so (<see cref="FrameRecord.Package"/>); the versions before read the client's mark alone.</remarks>
    public static bool IsApp(FrameRecord frame, GroupingRules rules) =>
        (frame.InApp || (frame.Package && !rules.PackagesAreLibraries)) && !IsGenerated(frame)
        && ((rules.MicrosoftProductsOnly && MicrosoftProducts.Classify(frame.Type).IsMicrosoft) || !IsFrameworkName(frame.Type, rules));

    /// <summary>Frames that say nothing about where a failure is: rethrow and async plumbing, generated code, helpers that only throw.</summary>
    public static bool IsNoise(FrameRecord frame, GroupingRules rules) => IsGenerated(frame) || IsPlumbing(frame) || IsThrowHelper(frame, rules);

    public static bool IsThrowHelper(FrameRecord frame, GroupingRules rules)
    {
        var (type, function) = NormalizedNames.Normalize(frame.Type, frame.Function);
        var method = function;
        var dot = method.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            method = method[..dot];
        }

        // Version 3: "VerifyAccess.ThrowVerifyAccess", the normalized name of a local function that only throws for the method around it.
        return method.StartsWith("Throw", StringComparison.Ordinal)
            || (rules.LocalThrowHelpers && dot > 0 && function.AsSpan(function.LastIndexOf('.') + 1).StartsWith("Throw", StringComparison.Ordinal))
            || (type is not null && ThrowHelperTypeNames.Contains(LastSegment(type)));
    }

    /// <summary>
    /// Version 12: a framework type's own throw helper (<c>FeatureReferences.ThrowContextDisposed</c>,
    /// <c>CancellationTokenSource.ThrowIfDisposed</c>, <c>AwaitableSocketAsyncEventArgs.ThrowException</c>): a method named
    /// <c>Throw*</c> of a type that is neither a helper type (<c>ThrowHelper</c>, <c>Guard</c>, ...), whose methods throw for every caller,
    /// nor an exception type (<c>SqliteException.ThrowExceptionForRC</c>, which the whole library calls), nor plumbing that rethrows what an awaited
    /// task or a dispatch info held (<c>TaskAwaiter.ThrowForNonSuccess</c>, <c>ExceptionDispatchInfo.Throw</c>). Such a helper is kept out of line so
    /// that its type's small methods can be inlined, and the JIT never inlines it: its frame and its type stay put where the throw site's
    /// frame is inlined into a caller of another type, or into the app's code.
    /// </summary>
    public static bool IsOwnTypesThrowHelper(FrameRecord frame, GroupingRules rules)
    {
        if (string.IsNullOrEmpty(frame.Type) || IsApp(frame, rules) || IsPlumbing(frame) || !IsThrowHelper(frame, rules))
        {
            return false;
        }

        var owner = LastSegment(NormalizedNames.NormalizeTypeName(frame.Type));
        return !ThrowHelperTypeNames.Contains(owner) && !owner.EndsWith("Exception", StringComparison.Ordinal);
    }

    /// <summary>
    /// A UI framework's check that it is called on its own thread (WPF's and Avalonia's
    /// Dispatcher.VerifyAccess, also as the method around a local throw helper): it refuses the caller's
    /// thread, so the caller is the bug.
    /// </summary>
    public static bool IsThreadCheck(FrameRecord frame, GroupingRules rules)
    {
        if (!rules.ThreadChecksAreGuards || string.IsNullOrEmpty(frame.Type))
        {
            return false;
        }

        var (type, function) = NormalizedNames.Normalize(frame.Type, frame.Function);
        return (function == "VerifyAccess" || function.StartsWith("VerifyAccess.", StringComparison.Ordinal))
            && type is not null
            && LastSegment(type) is "Dispatcher" or "DispatcherObject";
    }

    /// <summary>
    /// The UI frameworks' message loops an entry point starts, by declaring type and method (WinForms' Application.Run and the
    /// thread context's loop, WPF's Application.Run and Dispatcher.Run, WinUI's Application.Start, Avalonia's desktop lifetime,
    /// UIKit's UIApplication.Main): every event of the app's windows is dispatched from them.
    /// </summary>
    private static readonly HashSet<string> MessageLoops = new(StringComparer.Ordinal)
    {
        "Application.Run", "Application.RunDialog", "Application.Start", "ThreadContext.RunMessageLoop", "ThreadContext.RunMessageLoopInner",
        "Dispatcher.Run", "Dispatcher.PushFrame", "Dispatcher.PushFrameImpl", "Dispatcher.MainLoop",
        "ClassicDesktopStyleApplicationLifetime.Start", "ClassicDesktopStyleApplicationLifetimeExtensions.StartWithClassicDesktopLifetime",
        "UIApplication.Main",
    };

    /// <summary>Whether a method's name is one of <see cref="MessageLoops"/>' methods (names only, nothing normalized or allocated).</summary>
    public static bool MayBeMessageLoopMethod(string function) =>
        function is "Run" or "RunDialog" or "Start" or "RunMessageLoop" or "RunMessageLoopInner" or "PushFrame" or "PushFrameImpl" or "MainLoop"
            or "StartWithClassicDesktopLifetime" or "Main";

    /// <summary>The program's entry point, as the compiler names it (Main) or for top-level statements (&lt;Main&gt;$).</summary>
    public static bool IsEntryPoint(FrameRecord frame) => frame.Function is "Main" or "<Main>$";

    /// <summary>
    /// A lambda or local function the compiler generated inside the entry point, whatever the client sent: the compiler's names
    /// (<c>Program+&lt;&gt;c.&lt;&lt;Main&gt;$&gt;b__0_3</c> of top-level statements, <c>&lt;Main&gt;b__0_1</c>, <c>&lt;&lt;Main&gt;$&gt;g__Handle|0_2</c>, an async
    /// one's <c>Program+&lt;&gt;c+&lt;&lt;&lt;Main&gt;$&gt;b__0_4&gt;d.MoveNext</c>) or the .NET SDK's normalized ones (<c>Main.&lt;lambda&gt;</c>, <c>Main.Handle</c>).
    /// Both normalize to a function under <c>Main</c>: a method's own name holds a dot only for an explicit interface implementation, which
    /// starts with the interface's namespace, and the entry point itself (also async, <c>&lt;&lt;Main&gt;$&gt;d__0</c>) normalizes to <c>Main</c>.
    /// </summary>
    public static bool IsEntryPointLambda(FrameRecord frame) =>
        NormalizedNames.Normalize(frame.Type, frame.Function).Function is { Length: > 5 } function && function.StartsWith("Main.", StringComparison.Ordinal);

    /// <summary>Whether a frame may be <see cref="IsEntryPointLambda"/>'s: names only, nothing normalized or allocated; errs on the side of yes.</summary>
    public static bool MayBeEntryPointLambda(FrameRecord frame) =>
        frame.Function.StartsWith("Main.", StringComparison.Ordinal) || frame.Function.Contains("<Main>", StringComparison.Ordinal)
        || (frame.Type is { } type && type.Contains("<Main>", StringComparison.Ordinal));

    /// <summary>
    /// A method compiled at run time from an expression tree (<c>lambda_method12</c>, no declaring type): ASP.NET Core's request delegate for
    /// a minimal API endpoint (and MVC's action executor) is one, and calls the handler directly, so the JIT may inline a small handler into it.
    /// </summary>
    public static bool IsCompiledLambda(FrameRecord frame) =>
        string.IsNullOrEmpty(frame.Type) && frame.Function.StartsWith("lambda_method", StringComparison.Ordinal);

    /// <summary>
    /// Where the request delegate of an endpoint is in these frames: a compiled lambda (<see cref="IsCompiledLambda"/>) whose next frame that is
    /// not noise is ASP.NET Core's (the endpoint middleware, or the middleware before it when the endpoint middleware tail-called the
    /// delegate); -1 when there is none. A compiled lambda under a library's frames (EF Core's materializer) is not one.
    /// </summary>
    public static int RequestDelegateIndex(IReadOnlyList<FrameRecord> frames, GroupingRules rules)
    {
        for (var i = 0; i < frames.Count; i++)
        {
            if (IsRequestDelegate(frames, i, rules))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsRequestDelegate(IReadOnlyList<FrameRecord> frames, int index, GroupingRules rules)
    {
        if (!IsCompiledLambda(frames[index]))
        {
            return false;
        }

        for (var j = index + 1; j < frames.Count; j++)
        {
            if (!IsNoise(frames[j], rules))
            {
                // ErrorHub's own middleware too: placed last before the endpoint, it is what called the tail-called delegate.
                return frames[j].Type is { } type
                    && (type.StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal) || type.StartsWith("ErrorHub.AspNetCore.", StringComparison.Ordinal));
            }
        }

        return false;
    }

    /// <summary>
    /// ASP.NET Core's code that awaits what a minimal API handler returned (<c>RequestDelegateFactory</c>'s, or what the request delegate
    /// generator wrote, <c>Microsoft.AspNetCore.Http.Generated</c>): after an await, the handler's caller in its trace.
    /// </summary>
    public static bool IsRequestDelegateAwaiting(FrameRecord frame) =>
        frame.Type is { } type
        && (type.StartsWith("Microsoft.AspNetCore.Http.RequestDelegateFactory", StringComparison.Ordinal)
            || type.StartsWith("Microsoft.AspNetCore.Http.Generated.", StringComparison.Ordinal));

    /// <summary>
    /// ASP.NET Core's routing middleware, which runs the endpoint's request delegate and awaits the task it returns. A handler that returns a
    /// plain <c>Task</c> (an <c>async</c> lambda that writes the response itself, as Carter's modules' handlers do, or a <c>RequestDelegate</c>)
    /// is given no wrapper of <c>RequestDelegateFactory</c>'s: its task is the request delegate's, and after its await (or where it threw before
    /// its first one, into its task) its caller in the trace is this middleware's <c>AwaitRequestTask</c>.
    /// </summary>
    public static bool IsEndpointMiddleware(FrameRecord frame) =>
        frame.Type is { } type && type.StartsWith("Microsoft.AspNetCore.Routing.EndpointMiddleware", StringComparison.Ordinal);

    /// <summary>
    /// Whether the frame at <paramref name="index"/> is a lambda or local function (its normalized function names the method it is written in,
    /// <c>MapTodos.&lt;lambda&gt;</c>) that an endpoint called as its handler: a minimal API handler written in a method that maps a route group's
    /// endpoints. Its caller, past the async machinery and its own synchronous stub, is the endpoint's compiled request delegate
    /// (<see cref="RequestDelegateIndex"/>'s) or, where the handler awaited, ASP.NET Core's <c>RequestDelegateFactory</c> or the code the request
    /// delegate generator wrote (<c>Microsoft.AspNetCore.Http.Generated</c>), and since version 13 the routing middleware that awaits a plain
    /// <c>Task</c> handler (<see cref="IsEndpointMiddleware"/>). A lambda that the app's own code calls (a LINQ selector in a
    /// service) is not one: the service's frame comes first.
    /// </summary>
    public static bool IsEndpointLambda(IReadOnlyList<FrameRecord> frames, int index, GroupingRules rules)
    {
        var name = NormalizedNames.Normalize(frames[index].Type, frames[index].Function);
        if (!name.Function.Contains('.', StringComparison.Ordinal))
        {
            return false;
        }

        for (var j = index + 1; j < frames.Count; j++)
        {
            var frame = frames[j];
            if (IsCompiledLambda(frame))
            {
                return IsRequestDelegate(frames, j, rules);
            }

            if (IsRequestDelegateAwaiting(frame) || (rules.EndpointMiddlewareCallsHandler && IsEndpointMiddleware(frame)))
            {
                return true;
            }

            if (!IsNoise(frame, rules) && NormalizedNames.Normalize(frame.Type, frame.Function) != name)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>A framework frame of a UI framework's message loop (<see cref="MessageLoops"/>), which dispatches every event of the app.</summary>
    public static bool IsMessageLoop(FrameRecord frame, GroupingRules rules) =>
        !string.IsNullOrEmpty(frame.Type) && IsFrameworkName(frame.Type, rules) && MessageLoops.Contains(ShortFrame(frame));

    public static bool IsGuard(FrameRecord frame, string exceptionType)
    {
        var type = frame.Type is null ? "" : NormalizedNames.NormalizeTypeName(frame.Type);
        foreach (var prefix in GuardNamespaces)
        {
            if (HasPrefix(type, prefix) && !HasPrefix(type, "System.Linq.Expressions"))
            {
                return true;
            }
        }

        return GuardExceptionTypes.Contains(NormalizedNames.NormalizeTypeName(exceptionType));
    }

    /// <summary>
    /// Exceptions that only carry another one: reflection's, the task library's, a type initializer's,
    /// EF's "see the inner exception" (EF Core and EF6), Autofac's. EF's retry strategy throws a plain
    /// InvalidOperationException, known by the execution strategy that threw it.
    /// </summary>
    private static readonly HashSet<string> WrapperTypes = new(StringComparer.Ordinal)
    {
        "System.AggregateException", "System.Reflection.TargetInvocationException", "System.TypeInitializationException",
        "Microsoft.EntityFrameworkCore.DbUpdateException", "System.Data.Entity.Infrastructure.DbUpdateException",
        "System.Data.Entity.Core.UpdateException", "System.Data.Entity.Core.EntityCommandExecutionException",
        "Autofac.Core.DependencyResolutionException",
    };

    public static bool IsWrapper(ExceptionRecord exception, GroupingRules rules)
    {
        var type = NormalizedNames.NormalizeTypeName(exception.Type);
        if (WrapperTypes.Contains(type))
        {
            return true;
        }

        var thrownBy = exception.Frames.FirstOrDefault(f => !IsNoise(f, rules));
        return type == "System.InvalidOperationException"
            && thrownBy?.Type is { } thrower
            && NormalizedNames.NormalizeTypeName(thrower).EndsWith("ExecutionStrategy", StringComparison.Ordinal);
    }

    public static bool IsCancellation(string exceptionType) => CancellationTypes.Contains(NormalizedNames.NormalizeTypeName(exceptionType));

    /// <summary>A NullReferenceException: never thrown on purpose, a dereference in the method that threw it.</summary>
    /// <summary>
    /// Whether a library threw its own exception type: the type and the throwing frame's type share their first namespace segment, which
    /// is not the runtime's or Microsoft's (there one root holds many products, and their exceptions are thrown everywhere).
    /// </summary>
    public static bool IsOwnException(string exceptionType, FrameRecord throwSite)
    {
        var type = NormalizedNames.NormalizeTypeName(exceptionType);
        var thrower = throwSite.Type is null ? "" : NormalizedNames.NormalizeTypeName(throwSite.Type);
        var root = type.IndexOf('.', StringComparison.Ordinal);
        if (root <= 0 || thrower.Length <= root || thrower[root] != '.' || !thrower.AsSpan().StartsWith(type.AsSpan(0, root), StringComparison.Ordinal))
        {
            return false;
        }

        return !type.StartsWith("System.", StringComparison.Ordinal) && !type.StartsWith("Microsoft.", StringComparison.Ordinal);
    }

    public static bool IsNullDereference(string exceptionType) => NormalizedNames.NormalizeTypeName(exceptionType) == "System.NullReferenceException";

    /// <summary>A property's setter (set_X), as the compiler names it.</summary>
    public static bool IsPropertySetter(FrameRecord frame) => frame.Function.StartsWith("set_", StringComparison.Ordinal);

    public static bool IsAggregate(string exceptionType) => NormalizedNames.NormalizeTypeName(exceptionType) == "System.AggregateException";

    /// <summary>
    /// A framework frame as grouping counts it: its declaring type without namespace or nesting
    /// ("HttpClient", "IdentityMap"). Methods inside a library are renamed, split and inlined between
    /// versions far more often than its types are, and namespaces move (System.Data.SqlClient became
    /// Microsoft.Data.SqlClient); the type still says which component failed.
    /// </summary>
    public static string ComponentName(FrameRecord frame)
    {
        var (type, function) = NormalizedNames.Normalize(frame.Type, frame.Function);
        return string.IsNullOrEmpty(type) ? function : LastSegment(type);
    }

    /// <summary>"Type.Method" without the namespace: how a framework frame is shown.</summary>
    public static string ShortFrame(FrameRecord frame)
    {
        var (type, function) = NormalizedNames.Normalize(frame.Type, frame.Function);
        return string.IsNullOrEmpty(type) ? function : $"{LastSegment(type)}.{function}";
    }

    /// <summary>An exception type as grouping counts it: the app's types in full, framework types by their short name (their namespaces move between versions).</summary>
    public static string ExceptionTypeKey(string exceptionType, GroupingRules rules)
    {
        var normalized = NormalizedNames.NormalizeTypeName(exceptionType).Trim();
        return IsFrameworkName(normalized, rules) ? LastSegment(normalized) : normalized;
    }

    /// <summary>Runtime code without source: compiled expression trees, dynamic call sites, Mono's wrappers.</summary>
    private static bool IsGenerated(FrameRecord frame) =>
        (string.IsNullOrEmpty(frame.Type) && (frame.Function.StartsWith("lambda_method", StringComparison.Ordinal) || frame.Function == "CallSite.Target"))
        || frame.Type is "DynamicClass"
        || frame.Function.StartsWith("(wrapper", StringComparison.Ordinal);

    private static bool IsPlumbing(FrameRecord frame)
    {
        if (string.IsNullOrEmpty(frame.Type))
        {
            return false;
        }

        var type = NormalizedNames.NormalizeTypeName(frame.Type);
        foreach (var prefix in PlumbingTypes)
        {
            if (HasPrefix(type, prefix))
            {
                return true;
            }
        }

        return false;
    }

    private static string LastSegment(string name)
    {
        var trimmed = name.TrimEnd('.');
        var last = trimmed[(trimmed.LastIndexOf('.') + 1)..];
        return last.Length > 0 ? last : name;
    }

    private static bool HasPrefix(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal) && (name.Length == prefix.Length || name[prefix.Length] is '.' or '+' or '`');
}

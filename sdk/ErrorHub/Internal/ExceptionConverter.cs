using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using ErrorHub.Protocol;

namespace ErrorHub.Internal;

/// <summary>Turns an exception and its inner exceptions into the event's exception chain with stack frames.</summary>
internal sealed class ExceptionConverter(ErrorHubOptions options)
{
    /// <summary>Chains longer than this are cut: a cycle or a pathological AggregateException must not blow up an event.</summary>
    internal const int MaxExceptions = 32;

    internal const int MaxFramesPerException = 200;

    private static readonly string[] AlwaysExcluded = ["System", "Microsoft", "Internal", "Interop"];

    /// <summary>The SDK's own assemblies: never the app's code, whatever namespace the app uses.</summary>
    private static readonly HashSet<string> SdkAssemblies = new(StringComparer.Ordinal) { "ErrorHub", "ErrorHub.AspNetCore" };

    public void AddExceptions(ErrorHubEvent target, Exception exception)
    {
        var seen = new HashSet<Exception>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<Exception>();
        pending.Push(exception);
        while (pending.Count > 0 && target.Exceptions.Count < MaxExceptions)
        {
            var current = pending.Pop();
            if (!seen.Add(current))
            {
                continue;
            }

            target.Exceptions.Add(Convert(current));
            if (current is AggregateException aggregate)
            {
                for (var i = aggregate.InnerExceptions.Count - 1; i >= 0; i--)
                {
                    pending.Push(aggregate.InnerExceptions[i]);
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }

    private ExceptionEntry Convert(Exception exception)
    {
        var type = exception.GetType();
        var result = new ExceptionEntry
        {
            Type = type.FullName ?? type.Name,
            Value = SafeMessage(exception),
            Module = type.Assembly.GetName().Name,
        };

        var frames = new StackTrace(exception, fNeedFileInfo: true).GetFrames();
        foreach (var frame in frames.Take(MaxFramesPerException))
        {
            if (ToEventFrame(frame, isThrowSite: result.Frames.Count == 0) is { } eventFrame)
            {
                result.Frames.Add(eventFrame);
            }
        }

        return result;
    }

    private StackFrameEntry? ToEventFrame(StackFrame frame, bool isThrowSite)
    {
        var method = frame.GetMethod();
        if (method is null)
        {
            return null;
        }

        // Frames the runtime marks as hidden (async plumbing, ExceptionDispatchInfo rethrows) are noise.
        if (method.IsDefined(typeof(StackTraceHiddenAttribute), inherit: false)
            || (method.DeclaringType?.IsDefined(typeof(StackTraceHiddenAttribute), inherit: false) ?? false))
        {
            return null;
        }

        var (type, function) = DotNetNames.Normalize(method.DeclaringType?.FullName, method.Name);
        var module = method.Module.Assembly.GetName().Name;
        var line = frame.GetFileLineNumber();
        var column = frame.GetFileColumnNumber();
        var inApp = !SdkAssemblies.Contains(module ?? "") && IsInApp(type);
        return new StackFrameEntry
        {
            Function = function,
            Type = type,
            Module = module,
            File = frame.GetFileName(),
            Line = line > 0 ? line : null,
            Column = column > 0 ? column : null,
            InApp = inApp,
            // Where the failure happened is never a wrapper, even in a middleware.
            Wrapper = inApp && !isThrowSite && IsMiddleware(ResolveStateMachine(method)),
        };
    }

    /// <summary>
    /// An app's own middleware (a class with Invoke/InvokeAsync(HttpContext, ...), or a lambda given to app.Use that
    /// takes the context and the next step) only passes failures on. Whether the exception is captured inside it
    /// (a catch-all that logs) or beyond it (UseErrorHub placed after it) must not change the issue, so grouping
    /// skips it. Compared by name: the core package does not reference ASP.NET Core.
    /// </summary>
    internal static bool IsMiddleware(MethodBase method)
    {
        ParameterInfo[] parameters;
        try
        {
            parameters = method.GetParameters();
        }
        catch (Exception)
        {
            return false;
        }

        if (parameters.Length == 0 || parameters[0].ParameterType.FullName != "Microsoft.AspNetCore.Http.HttpContext")
        {
            return false;
        }

        if (method.Name is "Invoke" or "InvokeAsync")
        {
            return true;
        }

        return parameters.Length >= 2
            && (parameters[1].ParameterType.FullName == "Microsoft.AspNetCore.Http.RequestDelegate" || parameters[1].ParameterType == typeof(Func<Task>));
    }

    /// <summary>An async method's frame is its state machine's MoveNext; the method written in the code is what counts.</summary>
    private static MethodBase ResolveStateMachine(MethodBase method)
    {
        if (method.Name != "MoveNext" || method.DeclaringType is not { } machine || machine.DeclaringType is not { } owner
            || !typeof(IAsyncStateMachine).IsAssignableFrom(machine))
        {
            return method;
        }

        foreach (var candidate in owner.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
        {
            if (candidate.GetCustomAttribute<AsyncStateMachineAttribute>(inherit: false)?.StateMachineType == machine)
            {
                return candidate;
            }
        }

        return method;
    }

    internal bool IsInApp(string? typeName)
    {
        if (string.IsNullOrEmpty(typeName))
        {
            return false;
        }

        foreach (var prefix in AlwaysExcluded.Concat(options.InAppExclude))
        {
            if (typeName.StartsWith(prefix, StringComparison.Ordinal)
                && (typeName.Length == prefix.Length || typeName[prefix.Length] == '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static string SafeMessage(Exception exception)
    {
        try
        {
            return exception.Message;
        }
        catch (Exception)
        {
            // A custom Message override may throw; reporting must not.
            return "";
        }
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using ErrorHub.Internal;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests.Capture;

public sealed class ExceptionConverterTests
{
    private readonly ExceptionConverter _converter = new(new ErrorHubOptions());

    [Fact]
    public async Task Async_frames_carry_the_method_names_the_developer_wrote_with_file_and_line()
    {
        var exception = await CatchAsync(() => Orders.PlaceAsync(3));

        var e = Convert(exception);

        var frames = e.Exceptions.Single().Frames;
        frames[0].Should().BeEquivalentTo(new
        {
            Function = "ChargeAsync",
            Type = "ErrorHub.Tests.Capture.Orders",
            Module = "ErrorHub.Tests",
            InApp = true,
        });
        frames[0].File.Should().EndWith("ExceptionConverterTests.cs");
        frames[0].Line.Should().BeGreaterThan(0);
        frames.Select(f => f.Function).Should().ContainInOrder("ChargeAsync", "PlaceAsync");
        frames.Should().NotContain(f => f.Function == "MoveNext" || f.Type!.Contains('<'), "state machines are folded into their methods");
    }

    [Fact]
    public void Lambdas_and_local_functions_are_named_after_their_method()
    {
        var exception = Catch(Orders.ValidateAll);

        var functions = Convert(exception).Exceptions.Single().Frames.Where(f => f.InApp).Select(f => f.Function).ToList();

        functions.Should().Contain("ValidateAll.<lambda>");
        functions.Should().Contain("ValidateAll.Check");
    }

    [Fact]
    public void Inner_exceptions_follow_their_parent_and_aggregate_children_keep_their_order()
    {
        var aggregate = new AggregateException(
            new InvalidOperationException("first", new FormatException("first's cause")),
            new TimeoutException("second"));

        var types = Convert(aggregate).Exceptions.Select(x => x.Type).ToList();

        types.Should().Equal(
            "System.AggregateException",
            "System.InvalidOperationException",
            "System.FormatException",
            "System.TimeoutException");
    }

    [Fact]
    public void A_pathologically_deep_chain_is_cut_instead_of_blowing_up_the_event()
    {
        Exception exception = new InvalidOperationException("root");
        for (var i = 0; i < 500; i++)
        {
            exception = new InvalidOperationException($"wrap {i}", exception);
        }

        Convert(exception).Exceptions.Should().HaveCount(ExceptionConverter.MaxExceptions);
    }

    [Fact]
    public void Framework_frames_are_not_in_app_and_InAppExclude_adds_prefixes()
    {
        var converter = new ExceptionConverter(new ErrorHubOptions { InAppExclude = { "Vendor.Payments" } });

        converter.IsInApp("System.Linq.Enumerable").Should().BeFalse();
        converter.IsInApp("Microsoft.AspNetCore.Routing.EndpointMiddleware").Should().BeFalse();
        converter.IsInApp("Vendor.Payments.Client").Should().BeFalse();
        converter.IsInApp("Vendor.PaymentsExtra.Client").Should().BeTrue("a prefix matches whole namespace segments");
        converter.IsInApp("Shop.Checkout").Should().BeTrue();
        converter.IsInApp("SystemMonitor.Probe").Should().BeTrue();
    }

    [Fact]
    public void Only_microsofts_products_are_framework_code_under_microsoft()
    {
        _converter.IsInApp("Microsoft.AspNetCore.Routing.EndpointMiddleware").Should().BeFalse();
        _converter.IsInApp("Microsoft.Extensions.DependencyInjection.ServiceProvider").Should().BeFalse();
        _converter.IsInApp("Microsoft.EntityFrameworkCore.DbContext").Should().BeFalse();
        _converter.IsInApp("Microsoft.PowerShell.Commands.ModuleCmdletBase").Should().BeFalse("PowerShell hosts every module: a product");
        _converter.IsInApp("Microsoft.eShopOnContainers.WebMVC.Services.CatalogService").Should().BeTrue("an app's own namespace");
        _converter.IsInApp("Microsoft.Alm.Git.Where").Should().BeTrue();
        _converter.IsInApp("Internal.Runtime.CompilerHelpers.ThrowHelpers").Should().BeFalse();
    }

    [Fact]
    public void InAppInclude_wins_over_every_exclude_by_whole_namespace_segments()
    {
        var converter = new ExceptionConverter(new ErrorHubOptions
        {
            InAppExclude = { "Contoso" },
            InAppInclude = { "Contoso.Shop", "Microsoft.PowerShell" },
        });

        converter.IsInApp("Contoso.Shop.Checkout").Should().BeTrue("an include wins over the app's own exclude");
        converter.IsInApp("Contoso.Common.Retry").Should().BeFalse();
        converter.IsInApp("Contoso.ShopTools.Cli").Should().BeFalse("a prefix matches whole namespace segments");
        converter.IsInApp("Microsoft.PowerShell.PSConsoleReadLine").Should().BeTrue("an include wins over the built-in products too");
        converter.IsInApp("Microsoft.PowerShellGet.Cmdlets").Should().BeTrue("not a product either: no listed root");
        converter.IsInApp("Microsoft.AspNetCore.Http.HttpContext").Should().BeFalse();
    }

    [Fact]
    public void A_real_apps_frames_under_a_microsoft_namespace_are_marked_in_app_and_the_products_frames_are_not()
    {
        var exception = Catch(() => Microsoft.Contoso.Catalog.CatalogService.Load("summer-kit"));

        var frames = Convert(exception).Exceptions.Single().Frames;

        frames.Should().Contain(f => f.Type == "Microsoft.Contoso.Catalog.CatalogService" && f.Function == "Load" && f.InApp);
        frames.Should().Contain(f => f.Type == "Microsoft.Contoso.Catalog.PriceList" && f.Function == "Find" && f.InApp);
        frames.Where(f => f.Type?.StartsWith("System.", StringComparison.Ordinal) == true).Should().NotBeEmpty().And.OnlyContain(f => !f.InApp);

        // The marking is read once per method: a second failure through the same methods gets the same frames from the cache.
        Convert(Catch(() => Microsoft.Contoso.Catalog.CatalogService.Load("winter-kit"))).Exceptions.Single().Frames
            .Select(f => (f.Type, f.Function, f.InApp)).Should().Equal(frames.Select(f => (f.Type, f.Function, f.InApp)));
    }

    [Fact]
    public void An_aggregates_value_is_the_text_of_its_Message_nested_aggregates_and_a_message_given_as_null_included()
    {
        var aggregates = new[]
        {
            new AggregateException("outer", new InvalidOperationException("first"),
                new AggregateException("middle", new FormatException("second"), new AggregateException("empty")),
                new AggregateException(new TimeoutException("default message around it"))),
            new AggregateException((string)null!, new InvalidOperationException("own message null")),
            new AggregateException("no inner exceptions"),
        };

        foreach (var aggregate in aggregates)
        {
            Convert(aggregate).Exceptions[0].Value.Should().Be(aggregate.Message);
        }
    }

    [Fact]
    public void An_exception_whose_Message_throws_is_still_reported()
    {
        var e = Convert(Catch(() => throw new HostileException()));

        e.Exceptions.Single().Should().BeEquivalentTo(new { Type = typeof(HostileException).FullName, Value = "" });
    }

    [Fact]
    public async Task Files_lines_and_columns_are_the_ones_the_runtime_reports()
    {
        var exception = await CatchAsync(() => Orders.PlaceAsync(3));

        var ours = Convert(exception).Exceptions.Single().Frames
            .Where(f => f.File is not null)
            .Select(f => (f.File, f.Line, f.Column))
            .ToList();

        var runtime = new StackTrace(exception, fNeedFileInfo: true).GetFrames()
            .Where(f => f.GetFileName() is not null)
            .Select(f => ((string?)f.GetFileName(), (int?)f.GetFileLineNumber(), (int?)f.GetFileColumnNumber()))
            .ToList();
        runtime.Should().HaveCountGreaterThan(2, "the test assembly ships a portable PDB");
        ours.Should().Equal(runtime);
    }

    [Fact]
    public void Frames_are_the_ones_of_the_moment_of_capture_even_when_the_exception_travels_on()
    {
        var e = new ErrorHubEvent();
        List<string>? atCapture = null;
        Exception? travelled = null;
        try
        {
            ReportFromFilter(Orders.ValidateAll, exception =>
            {
                _converter.AddExceptions(e, exception);
                atCapture = FunctionNames(new StackTrace(exception, fNeedFileInfo: true));
            });
        }
        catch (ArgumentOutOfRangeException exception)
        {
            travelled = exception;
        }

        FunctionNames(new StackTrace(travelled!, fNeedFileInfo: true)).Should().HaveCountGreaterThan(atCapture!.Count, "the exception went on through this test's frame");

        e.Exceptions.Single().Frames.Select(f => f.Function).Should().HaveCount(atCapture.Count)
            .And.NotContain(nameof(Frames_are_the_ones_of_the_moment_of_capture_even_when_the_exception_travels_on));
    }

    [Fact]
    public void A_chain_read_twice_is_the_same_list()
    {
        var e = Convert(Catch(Orders.ValidateAll));

        e.Exceptions.Should().BeSameAs(e.Exceptions);
    }

    [Fact]
    public async Task An_event_whose_exceptions_nobody_read_is_written_byte_for_byte_as_one_whose_exceptions_were_read()
    {
        var asyncFailure = await CatchAsync(() => Orders.PlaceAsync(3));
        var exceptions = new[]
        {
            asyncFailure,
            Catch(Orders.ValidateAll),
            new AggregateException(Catch(() => throw new InvalidOperationException("first", new FormatException("cause"))), new TimeoutException("no frames")),
            Catch(() => throw new HostileException()),
        };

        foreach (var exception in exceptions)
        {
            // Twice each: the second write of an unread chain comes from the frames' bytes made by the first.
            for (var round = 0; round < 2; round++)
            {
                WrittenUnreadAndReadAlike(exception, $"the chain of {exception.GetType().Name} is the same whichever way it is written");
            }
        }
    }

    [Fact]
    public void Exceptions_thrown_from_two_lines_of_one_method_keep_their_own_frames_however_often_they_are_written()
    {
        // A storm's traces are remembered whole by their frames' methods and IL offsets: the same method failing at
        // another line is another trace, and must not be written with the first one's lines.
        // One call site for both, so that only the throwing frame's IL offset tells the traces apart.
        var (first, second) = (FailingAt(1), FailingAt(2));
        foreach (var exception in new[] { first, second, first, second })
        {
            WrittenUnreadAndReadAlike(exception, "a remembered trace is written as the frames it was made from");
        }

        Convert(first).Exceptions[0].Frames.Select(f => f.Line)
            .Should().NotEqual(Convert(second).Exceptions[0].Frames.Select(f => f.Line));
    }

    [Fact]
    public void One_method_failing_on_the_same_line_reached_through_two_callers_keeps_each_path_however_often_they_are_written()
    {
        // The throwing frame (method and IL offset) is the same for both: only the frames above it tell the traces apart.
        var (checkout, import) = (Catch(Orders.FailFromCheckout), Catch(Orders.FailFromImport));
        foreach (var exception in new[] { checkout, import, checkout, import })
        {
            WrittenUnreadAndReadAlike(exception, "a remembered trace is written as the frames it was made from");
        }

        Convert(checkout).Exceptions[0].Frames.Select(f => f.Function).Should().ContainInOrder("FailAt", "FailFromCheckout")
            .And.NotContain("FailFromImport");
        Convert(import).Exceptions[0].Frames.Select(f => f.Function).Should().ContainInOrder("FailAt", "FailFromImport")
            .And.NotContain("FailFromCheckout");
    }

    private static Exception FailingAt(int step) => Catch(() => Orders.FailAt(step));

    /// <summary>The exception's event written straight from its captured chain is byte for byte the one written after reading the chain.</summary>
    private void WrittenUnreadAndReadAlike(Exception exception, string because)
    {
        var unread = Convert(exception);
        var read = Convert(exception);
        read.Exceptions.Should().NotBeEmpty();
        unread.EventId = read.EventId;
        unread.Timestamp = read.Timestamp;

        var direct = Encode(unread);
        unread.UnreadCapturedChain.Should().NotBeNull("writing must not make the entries");
        direct.Should().Equal(Encode(read), because);
    }

    private static byte[] Encode(ErrorHubEvent e)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        ErrorHub.Transport.EventWireWriter.WriteEvent(buffer, e);
        return buffer.WrittenSpan.ToArray();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ReportFromFilter(Action action, Action<Exception> report)
    {
        try
        {
            action();
        }
        catch (Exception exception) when (Report(exception, report))
        {
            throw new InvalidOperationException("unreachable: the filter returns false");
        }

        static bool Report(Exception exception, Action<Exception> report)
        {
            report(exception);
            return false;
        }
    }

    [Fact]
    public void A_nuget_packages_frames_are_not_in_app_whatever_their_namespace_and_the_apps_frame_below_them_is()
    {
        // MessagePack is a NuGet package of this test host (its deps file says so); its namespace is one the SDK does not know.
        var frames = Convert(ThrownInAPackage()).Exceptions[0].Frames;

        var package = frames.Where(f => f.Module == "MessagePack").ToList();
        package.Should().NotBeEmpty();
        package.Should().AllSatisfy(f => f.InApp.Should().BeFalse());
        package.Should().AllSatisfy(f => f.FromPackage.Should().BeTrue());
        frames.Should().Contain(f => f.Type == typeof(ExceptionConverterTests).FullName && f.InApp && !f.FromPackage, "the app's own frame");
    }

    [Fact]
    public void InAppInclude_naming_a_packages_namespace_makes_its_frames_the_apps()
    {
        var converter = new ExceptionConverter(new ErrorHubOptions { InAppInclude = { "MessagePack" } });

        var frames = Convert(converter, ThrownInAPackage()).Exceptions[0].Frames.Where(f => f.Module == "MessagePack").ToList();

        frames.Should().NotBeEmpty();
        frames.Should().AllSatisfy(f => (f.InApp, f.FromPackage).Should().Be((true, false)));
    }

    [Fact]
    public void Without_a_deps_file_a_packages_frames_are_marked_by_their_namespace_as_before()
    {
        var converter = new ExceptionConverter(new ErrorHubOptions(), () => PackageAssemblies.None);

        var frames = Convert(converter, ThrownInAPackage()).Exceptions[0].Frames.Where(f => f.Module == "MessagePack").ToList();

        frames.Should().NotBeEmpty();
        frames.Should().AllSatisfy(f => (f.InApp, f.FromPackage).Should().Be((true, false)));
    }

    [Fact]
    public void Packages_that_cannot_be_read_never_fail_the_report()
    {
        var converter = new ExceptionConverter(new ErrorHubOptions(), () => throw new IOException("the deps file went away"));

        var frames = Convert(converter, ThrownInAPackage()).Exceptions[0].Frames;

        frames.Where(f => f.Module == "MessagePack").Should().NotBeEmpty().And.AllSatisfy(f => f.InApp.Should().BeTrue());
    }

    private static Exception ThrownInAPackage() =>
        Catch(() => MessagePack.MessagePackSerializer.Deserialize<int>(new byte[] { 0xc1 }));

    private static ErrorHubEvent Convert(ExceptionConverter converter, Exception exception)
    {
        var e = new ErrorHubEvent();
        converter.AddExceptions(e, exception);
        return e;
    }

    private static List<string> FunctionNames(StackTrace trace) =>
        trace.GetFrames().Select(f => f.GetMethod()?.Name ?? "").ToList();

    private ErrorHubEvent Convert(Exception exception)
    {
        var e = new ErrorHubEvent();
        _converter.AddExceptions(e, exception);
        return e;
    }

    private static Exception Catch(Action action)
    {
        try
        {
            action();
        }
        catch (Exception exception)
        {
            return exception;
        }

        throw new InvalidOperationException("expected an exception");
    }

    private static async Task<Exception> CatchAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception exception)
        {
            return exception;
        }

        throw new InvalidOperationException("expected an exception");
    }

    private sealed class HostileException : Exception
    {
        public override string Message => throw new NotSupportedException("no message for you");
    }
}

internal static class Orders
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FailFromCheckout() => FailAt(1);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FailFromImport() => FailAt(1);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FailAt(int step)
    {
        if (step == 1)
        {
            throw new InvalidOperationException("step one failed");
        }

        throw new InvalidOperationException($"step {step} failed");
    }

    public static async Task PlaceAsync(int quantity)
    {
        await Task.Yield();
        await ChargeAsync(quantity);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ValidateAll()
    {
        int[] quantities = [1, 2, -1];
        foreach (var quantity in quantities.Select(q => Check(q)))
        {
            _ = quantity;
        }

        static int Check(int quantity) => quantity >= 0 ? quantity : throw new ArgumentOutOfRangeException(nameof(quantity));
    }

    private static async Task ChargeAsync(int quantity)
    {
        await Task.Yield();
        throw new InvalidOperationException($"card declined for {quantity} items");
    }
}

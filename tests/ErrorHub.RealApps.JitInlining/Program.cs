using ErrorHub;
using Shop;

// Makes each failure of Failures.All many times and reports two of its occurrences with the SDK, as an app's catch block would:
// the first (the code the runtime starts with: ReadyToRun or tier 0, unless tiering is off) and one after warm-up (the code the
// runtime promotes to optimized tier 1 after 30 calls, in the background). Which frames are left depends on what the JIT inlined.
var rounds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
using (ErrorHubSdk.Init())
{
    foreach (var failure in Failures.All)
    {
        await Report(failure, "first");
    }

    for (var round = 0; round < rounds; round++)
    {
        foreach (var failure in Failures.All)
        {
            for (var call = 0; call < 40; call++)
            {
                await Fail(failure);
            }
        }

        // The runtime counts calls only after a pause in new methods' compiles, then compiles tier 1 in the background.
        await Task.Delay(300);
    }

    foreach (var failure in Failures.All)
    {
        await Report(failure, "warm");
    }

    if (!await ErrorHubSdk.Client.FlushAsync(TimeSpan.FromSeconds(30)))
    {
        Console.Error.WriteLine("The SDK did not flush its events.");
        return 1;
    }
}

return 0;

static async Task Report((string Name, Func<Task> Run) failure, string call)
{
    var exception = await Fail(failure);
    ErrorHubSdk.Client.CaptureException(exception, e =>
    {
        e.Tags["failure"] = failure.Name;
        e.Tags["call"] = call;
    });
}

static async Task<Exception> Fail((string Name, Func<Task> Run) failure)
{
    try
    {
        await failure.Run();
    }
    catch (Exception e)
    {
        return e;
    }

    throw new InvalidOperationException($"{failure.Name} did not fail.");
}

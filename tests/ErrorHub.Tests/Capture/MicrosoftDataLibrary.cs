using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Microsoft.Data.Orders;

/// <summary>
/// A data library as EF Core behaves (under a Microsoft product's namespace, so none of its frames is the app's): it logs a
/// failed query at Error in its own catch block, then throws the exception on into the app's code.
/// </summary>
internal static class OrderQuery
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async Task<int> CountAsync(ILogger logger, string message)
    {
        await Task.Yield();
        try
        {
            return Execute(message);
        }
        catch (InvalidOperationException failure)
        {
            logger.LogError(failure, "An exception occurred while iterating over the results of a query");
            throw;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Execute(string message) => throw new InvalidOperationException(message);
}

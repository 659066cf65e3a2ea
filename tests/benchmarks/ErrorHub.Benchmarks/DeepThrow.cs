using System.Runtime.CompilerServices;

namespace ErrorHub.Benchmarks;

/// <summary>
/// The exception every SDK benchmark throws: an <see cref="InvalidOperationException"/> 20 frames deep, as an app's
/// failure inside a few layers of its own code and the framework's. One definition, so every benchmark's "throw"
/// costs the same and their numbers compare.
/// </summary>
internal static class DeepThrow
{
    public const int Depth = 20;

    /// <summary>Throws from <paramref name="depth"/> frames down; never returns (its type lets endpoints return it).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Frames(int depth = Depth) =>
        depth == 0 ? throw new InvalidOperationException("Stock for SKU A-100 went negative") : Frames(depth - 1) + 1;

    /// <summary>The exception <see cref="Frames"/> throws, caught (its stack trace filled).</summary>
    public static Exception Caught()
    {
        try
        {
            Frames();
            return null!;
        }
        catch (InvalidOperationException exception)
        {
            return exception;
        }
    }
}

using System.Diagnostics;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// The one way integration tests wait: poll a condition at a short interval until it holds or <c>within</c> has passed,
/// then fail with what was awaited (and the last value seen). Never a fixed sleep.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Waits until <paramref name="condition"/> is true; throws a <see cref="TimeoutException"/> naming <paramref name="because"/> otherwise.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan within, string because) =>
        await ValueAsync(condition, holds => holds, within, because);

    /// <summary>Reads until <paramref name="accept"/> takes the value read, and returns that value.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> accept, TimeSpan within, string because)
    {
        var (accepted, value) = await PollAsync(read, accept, within);
        return accepted
            ? value
            : throw new TimeoutException($"Waited {within.TotalSeconds:0.#} s for {because}; last seen: {Describe(value)}");
    }

    /// <summary>As <see cref="ValueAsync{T}"/>, for callers that report a timeout themselves: whether it was accepted, and the last value.</summary>
    public static async Task<(bool Accepted, T Last)> PollAsync<T>(Func<Task<T>> read, Func<T, bool> accept, TimeSpan within)
    {
        var watch = Stopwatch.StartNew();
        var last = default(T)!;
        while (true)
        {
            // A read that hangs (a query against a stopped database) must not outlast the bound either.
            var left = within - watch.Elapsed;
            var reading = read();
            if (await Task.WhenAny(reading, Task.Delay(left > Interval ? left : Interval)) != reading)
                return (false, last);
            last = await reading;
            if (accept(last))
                return (true, last);
            if (watch.Elapsed >= within)
                return (false, last);
            await Task.Delay(Interval);
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        System.Text.Json.Nodes.JsonNode json => json.ToJsonString(),
        System.Collections.IEnumerable items and not string => $"[{string.Join(", ", items.Cast<object?>().Select(Describe))}]",
        _ => value.ToString() ?? "",
    };
}

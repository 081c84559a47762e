using System.Diagnostics.CodeAnalysis;
using Worker.Chain;
using Worker.Providers;

namespace Worker.Tests.Fakes;

/// <summary>A provider that answers from a script, one entry per call; the last entry repeats.</summary>
public sealed class ScriptedProvider(string name, params Func<CancellationToken, Task<ProviderResult>>[] script) : ICompletionProvider
{
    private int _calls;

    public string Name => name;

    public int Calls => _calls;

    public List<ProviderRequest> Requests { get; } = [];

    public Task<ProviderResult> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        lock (Requests)
        {
            Requests.Add(request);
        }

        return script[Math.Min(call, script.Length) - 1](cancellationToken);
    }

    public static Func<CancellationToken, Task<ProviderResult>> Ok(string text = "hello") =>
        _ => Task.FromResult<ProviderResult>(new ProviderSuccess(text, "model", 10, 5, "STOP"));

    public static Func<CancellationToken, Task<ProviderResult>> Fail(ErrorClass errorClass, int? status = null, TimeSpan? retryAfter = null) =>
        _ => Task.FromResult<ProviderResult>(new ProviderFailure(errorClass, $"simulated {errorClass}", status, retryAfter));

    /// <summary>
    /// Never answers: only the caller's token ends it, as with a provider that hangs. <paramref name="clock"/> learns
    /// that the call is blocked, so it may fire the timeout that ends it.
    /// </summary>
    public static Func<CancellationToken, Task<ProviderResult>> Hang(DrivenTimeProvider clock) =>
        async ct =>
        {
            await clock.BlockUntilCancelledAsync(ct);
            throw new InvalidOperationException("unreachable");
        };
}

public sealed class FakeRegistry(params ICompletionProvider[] providers) : IProviderRegistry
{
    public bool TryGet(string name, [NotNullWhen(true)] out ICompletionProvider? provider)
    {
        provider = providers.FirstOrDefault(p => p.Name == name);
        return provider is not null;
    }
}

using Worker.Contracts;

namespace Worker.Requests;

/// <summary>
/// The result an outcome of a request publishes: a <see cref="CompletionSucceeded"/> or a <see cref="CompletionFailed"/>,
/// nothing else. Stored with the outcome, re-published to duplicates and redeliveries.
/// </summary>
public abstract record RequestResult
{
    private RequestResult()
    {
    }

    public sealed record Succeeded(CompletionSucceeded Message) : RequestResult;

    public sealed record Failed(CompletionFailed Message) : RequestResult;

    public static implicit operator RequestResult(CompletionSucceeded message) => new Succeeded(message);

    public static implicit operator RequestResult(CompletionFailed message) => new Failed(message);

    /// <summary>A failure parked for ops replay.</summary>
    public bool IsParked => this is Failed { Message.DeadLettered: true };

    public T Match<T>(Func<CompletionSucceeded, T> succeeded, Func<CompletionFailed, T> failed) => this switch
    {
        Succeeded s => succeeded(s.Message),
        Failed f => failed(f.Message),
        _ => throw new InvalidOperationException("unreachable: a result is succeeded or failed"),
    };
}

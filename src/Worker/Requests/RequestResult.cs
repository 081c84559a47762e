using System.Security.Cryptography;
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

    /// <summary>
    /// One outcome of a request always yields the same result message id (a name-based, SHA-256 derived GUID); the outcome
    /// of each replay gets its own. A first outcome keeps the id earlier versions gave it.
    /// </summary>
    public static Guid MessageId(Guid requestId, int replayCount = 0)
    {
        var suffix = replayCount == 0 ? "result:" : $"result:{replayCount}";
        Span<byte> input = stackalloc byte[16 + 32];
        requestId.TryWriteBytes(input);
        var written = System.Text.Encoding.ASCII.GetBytes(suffix, input[16..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..(16 + written)], hash);
        return new Guid(hash[..16]);
    }

    /// <summary>
    /// Parked for ops replay: a dead-lettered failure, or a degraded answer (stale cache, template), which is parked so that
    /// a replay brings the real answer.
    /// </summary>
    public bool IsParked => this is Failed { Message.DeadLettered: true } or Succeeded { Message.Degraded: true };

    public T Match<T>(Func<CompletionSucceeded, T> succeeded, Func<CompletionFailed, T> failed) => this switch
    {
        Succeeded s => succeeded(s.Message),
        Failed f => failed(f.Message),
        _ => throw new InvalidOperationException("unreachable: a result is succeeded or failed"),
    };
}

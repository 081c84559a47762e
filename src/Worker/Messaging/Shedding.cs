using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Worker.Contracts;

namespace Worker.Messaging;

/// <summary>
/// The <c>Shedding</c> section: when the worker is behind, requests marked <c>sheddable</c> are answered <c>shed</c> at once
/// instead of waiting for a provider. Both limits are off (0) by default; either one passed sheds.
/// </summary>
public sealed class SheddingOptions
{
    public const string Section = "Shedding";

    /// <summary>Shed when the request queue holds at least this many ready messages (sampled every <see cref="ProbeInterval"/>). 0: off.</summary>
    [Range(0, 100_000_000)]
    public int MaxQueueDepth { get; set; }

    /// <summary>Shed a request that waited at least this long between its publish (the message's sent time) and its turn. 0: off.</summary>
    [Range(0, 86_400)]
    public int MaxQueueAgeSeconds { get; set; }

    /// <summary>How often the queue depth is sampled (a passive declare on a connection of its own), only while
    /// <see cref="MaxQueueDepth"/> is on. The consume path reads the last sample and never asks the broker.</summary>
    [Range(typeof(TimeSpan), "00:00:00.200", "00:05:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A depth sample older than this (the probe failing) no longer sheds anything.</summary>
    public TimeSpan SampleLifetime => 3 * ProbeInterval;
}

/// <summary>Why a request is shed: which limit (<c>depth</c> or <c>age</c>) and the sentence its result carries.</summary>
public sealed record ShedDecision(string Trigger, string Error);

/// <summary>
/// Decides whether a sheddable request is shed, from the last queue depth sample and the message's age. Pure and cheap:
/// one comparison per limit, no broker round trip on the consume path.
/// </summary>
public sealed class LoadShedder(IOptions<SheddingOptions> options, TimeProvider time)
{
    public const string DepthTrigger = "depth";
    public const string AgeTrigger = "age";

    private DepthSample? _sample;

    /// <summary>Records a depth sample (ready messages in the request queue) taken now.</summary>
    public void Observe(long depth) => Volatile.Write(ref _sample, new DepthSample(depth, time.GetUtcNow()));

    /// <summary>null: run the request. A request that is not sheddable is never shed.</summary>
    /// <param name="sentAt">When the producer sent the message; null when unknown (the age limit is then not applied).</param>
    public ShedDecision? Decide(CompletionRequested request, DateTimeOffset? sentAt)
    {
        if (!request.Sheddable)
        {
            return null;
        }

        var o = options.Value;
        var now = time.GetUtcNow();
        if (o.MaxQueueDepth > 0 && Volatile.Read(ref _sample) is { } sample && now - sample.At <= o.SampleLifetime && sample.Depth >= o.MaxQueueDepth)
        {
            return new ShedDecision(DepthTrigger,
                $"Shed without a provider call: the request queue held {sample.Depth} waiting requests ({SheddingOptions.Section}:MaxQueueDepth is {o.MaxQueueDepth}) and this request is sheddable.");
        }

        if (o.MaxQueueAgeSeconds > 0 && sentAt is { } sent && now - sent >= TimeSpan.FromSeconds(o.MaxQueueAgeSeconds))
        {
            return new ShedDecision(AgeTrigger,
                $"Shed without a provider call: this sheddable request waited {(now - sent).TotalSeconds:0} s in the queue ({SheddingOptions.Section}:MaxQueueAgeSeconds is {o.MaxQueueAgeSeconds}).");
        }

        return null;
    }

    private sealed record DepthSample(long Depth, DateTimeOffset At);
}

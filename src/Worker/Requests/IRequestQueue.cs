namespace Worker.Requests;

/// <summary>
/// The request queue, as this feature sends to it: due deferred requests go back there. Messaging owns the queue (its
/// name and type, Messaging:QueueName and Messaging:QueueType) and implements this.
/// </summary>
public interface IRequestQueue
{
    /// <summary>The queue's name, for the log.</summary>
    string Name { get; }

    /// <summary>Where a request is sent to be consumed again.</summary>
    Uri SendAddress { get; }
}

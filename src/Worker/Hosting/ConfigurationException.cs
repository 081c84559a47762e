namespace Worker.Hosting;

/// <summary>Bad configuration: the message names the key and how to fix it, and never contains a secret.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

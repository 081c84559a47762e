namespace Worker.Tests.Fakes;

/// <summary>The checkout the tests run from: the directory holding Worker.sln, found above the test binaries.</summary>
internal static class Repository
{
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Worker.sln not found above {AppContext.BaseDirectory}");
    }
}

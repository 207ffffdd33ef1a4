namespace ThinkWatch.Testing;

public static class Repository
{
    /// <summary>The checkout the tests run from (the folder holding ThinkWatch.slnx).</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ThinkWatch.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("ThinkWatch.slnx not found above " + AppContext.BaseDirectory);
    }
}

"""The book's plot style: the figures' width and type sizes, which the chapters' set-up (:mod:`.chapter`) applies and
the figure functions (:mod:`.figures`) read (a module of its own, so that neither imports the other's).
"""

# The book's plot style. A figure shows at one page pixel per figure pixel up to the content column (about 820 CSS px
# on a 1440-px screen) and is shrunk beyond it, so a chapter keeps its figures at most FIGURE_WIDTH inches wide
# (FIGURE_WIDTH * figure.dpi px); every text is then at least 10 px on the page (10 pt at 80 dpi: 11 px; the smallest,
# tick and legend labels at 9.5 pt: 10.6 px).
PLOT_DPI = 80
FIGURE_WIDTH = 10.0
MIN_FONT_PT = 9.5
PLOT_STYLE = {"figure.dpi": PLOT_DPI, "font.size": 10.5, "axes.titlesize": 11, "axes.labelsize": 10.5,
              "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT, "legend.fontsize": MIN_FONT_PT,
              "legend.title_fontsize": 10, "figure.titlesize": 12}
